// Checks q10's payment formats with libraries we did not write, against a running server:
//  1. VietQR: the payload of a payment's code, decoded by `vietnam-qr-pay` (CRC, amount, purpose,
//     bank BIN and account, currency, country) and encoded again by it byte for byte; the library
//     also accepts NAPAS's published example and refuses it with another CRC.
//  2. VNPay: the signed payment URL, verified by the `vnpay` package and built again by it from the
//     same parameters, which must give the same vnp_SecureHash (and the same URL).
//  3. VNPay IPNs forged with the package's signing helpers: a bad signature (97), a wrong amount
//     (04) and an unknown order (01) credit nothing; the good one is confirmed (00) and only once
//     (02); the payment then shows as succeeded with a receipt.
// Each check uses its own dossier and payment, created as a citizen would (anonymous).
//
// Environment: Q10_CONTRACT_BASE (the server, e.g. http://127.0.0.1:8080; or the first
// argument), Q10_CONTRACT_VNPAY_SECRET and Q10_CONTRACT_VNPAY_TMN_CODE (what the server was
// started with). The secret is never printed. Exits 1 with a message on the first mismatch.

import { randomBytes, randomInt, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";

import { QRPay } from "vietnam-qr-pay";
import {
  HashAlgorithm,
  InpOrderAlreadyConfirmed,
  IpnFailChecksum,
  IpnInvalidAmount,
  IpnOrderNotFound,
  IpnSuccess,
  VNPay,
  buildPaymentUrlSearchParams,
  calculateSecureHash,
  ignoreLogger,
} from "vnpay";

const base = (process.env.Q10_CONTRACT_BASE || process.argv[2] || "").replace(/\/+$/, "");
const secret = process.env.Q10_CONTRACT_VNPAY_SECRET || "";
const tmnCode = process.env.Q10_CONTRACT_VNPAY_TMN_CODE || "";

// The simulated bank account of the demo (core/src/payment/mod.rs, Settings::simulated).
const DEMO_BIN = "970415";
const DEMO_ACCOUNT = "113366668888";
// NAPAS's published example (QR Switching, VietQR to account at BIN 970403), CRC included.
const NAPAS_EXAMPLE = "00020101021138570010A00000072701270006970403011200110123456780208QRIBFTTA53037045802VN6304F4E5";

// Small valid-looking documents: the server checks PDF and PNG by their first bytes.
const PDF = Buffer.from("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n", "latin1");
const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8ffff3f0005fe02fea73581840000000049454e44ae426082",
  "hex",
);

class Mismatch extends Error {}

function fail(message) {
  throw new Mismatch(message);
}

function expectEqual(what, got, want) {
  if (got !== want) fail(`${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
}

function version(pkg) {
  const url = new URL(`./node_modules/${pkg}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")).version;
}

/** One HTTP exchange; `expect` is the status that must come back. Redirects are not followed. */
async function call(method, path, { json, form, headers = {}, expect } = {}) {
  const init = { method, headers: { ...headers }, redirect: "manual", signal: AbortSignal.timeout(15000) };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["content-type"] = "application/json";
  } else if (form !== undefined) {
    init.body = form;
  }
  let res;
  try {
    res = await fetch(base + path, init);
  } catch (e) {
    fail(`${method} ${path}: no answer (${e.cause?.message || e.message})`);
  }
  const text = await res.text();
  if (expect !== undefined && res.status !== expect) {
    fail(`${method} ${path}: expected ${expect}, got ${res.status}: ${text.slice(0, 500)}`);
  }
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, text, body };
}

/** A dossier for procedure 1.000894 in ward 27211 and the payment of its fee: `{dossier, payment}`. */
async function dossierWithPayment() {
  const form = new FormData();
  form.append(
    "dossier",
    JSON.stringify({
      procedure: "1.000894",
      ward: "27211",
      applicant: { full_name: "Lê Văn Kiểm", id_number: "079203011111", phone: "0911222333", address: "1 Đường 3/2" },
    }),
  );
  form.append("doc:application", new Blob([PDF], { type: "application/pdf" }), "to-khai.pdf");
  form.append("doc:id_card", new Blob([PNG], { type: "image/png" }), "cccd.png");
  const dossier = (await call("POST", "/api/v1/dossiers", { form, expect: 201 })).body;
  if (!dossier || typeof dossier.code !== "string" || !(dossier.fee > 0)) {
    fail(`POST /api/v1/dossiers: no code or fee in ${JSON.stringify(dossier)}`);
  }
  const payment = (
    await call("POST", "/api/v1/payments", {
      headers: { "idempotency-key": randomUUID() },
      json: { purpose: "dossier_fee", dossier_code: dossier.code },
      expect: 201,
    })
  ).body;
  if (!payment || !/^Q10P[0-9A-Z]{10}$/.test(payment.reference ?? "")) {
    fail(`POST /api/v1/payments: no reference in ${JSON.stringify(payment)}`);
  }
  expectEqual("the new payment's amount (the dossier's fee)", payment.amount, dossier.fee);
  expectEqual("the new payment's status", payment.status, "requires_payment");
  return { dossier, payment };
}

// ---------------------------------------------------------------------------------------------
// 1. VietQR, decoded and encoded by vietnam-qr-pay.

async function checkVietqr() {
  const napas = new QRPay(NAPAS_EXAMPLE);
  if (!napas.isValid) fail("vietnam-qr-pay refuses NAPAS's published example; the library is not what we think");
  const flipped = NAPAS_EXAMPLE.slice(0, -4) + (NAPAS_EXAMPLE.endsWith("F4E5") ? "F4E6" : "F4E5");
  if (new QRPay(flipped).isValid) fail("vietnam-qr-pay accepts NAPAS's example with a wrong CRC; it checks nothing");

  const { payment } = await dossierWithPayment();
  const ref = payment.reference;
  const code = (await call("POST", `/api/v1/payments/${ref}/vietqr`, { expect: 200 })).body;
  const payload = code?.payload;
  if (typeof payload !== "string" || !payload) fail(`POST /api/v1/payments/${ref}/vietqr: no payload`);
  expectEqual("the VietQR answer's reference", code.reference, ref);
  expectEqual("the VietQR answer's amount", code.amount, payment.amount);
  expectEqual("the VietQR answer's bank_bin", code.bank_bin, DEMO_BIN);
  expectEqual("the VietQR answer's account", code.account, DEMO_ACCOUNT);

  const qr = new QRPay(payload);
  if (!qr.isValid) fail(`vietnam-qr-pay finds our payload invalid (CRC or field lengths): ${payload}`);
  expectEqual("payload CRC (63) as decoded", qr.crc, payload.slice(-4).toUpperCase());
  expectEqual("payload format indicator (00)", qr.version, "01");
  expectEqual("payload point of initiation (01), dynamic", qr.initMethod, "12");
  expectEqual("payload provider (38.00)", qr.provider.guid, "A000000727");
  expectEqual("payload provider as named by the library", qr.provider.name, "VIETQR");
  expectEqual("payload service (38.02), to an account", qr.provider.service, "QRIBFTTA");
  expectEqual("payload bank BIN (38.01.00)", qr.consumer.bankBin, DEMO_BIN);
  expectEqual("payload account (38.01.01)", qr.consumer.bankNumber, DEMO_ACCOUNT);
  expectEqual("payload currency (53)", qr.currency, "704");
  expectEqual("payload amount (54)", qr.amount, String(payment.amount));
  expectEqual("payload country (58)", qr.nation, "VN");
  expectEqual("payload purpose (62.08), the payment's reference", qr.additionalData.purpose, ref);

  // The library's own encoder, from the same facts, writes the fields in ascending id order as
  // we do: the two payloads are the same string, CRC included.
  const theirs = QRPay.initVietQR({ bankBin: DEMO_BIN, bankNumber: DEMO_ACCOUNT, amount: String(payment.amount), purpose: ref }).build();
  expectEqual("the payload vietnam-qr-pay encodes for the same transfer", payload, theirs);

  // Any change breaks it: an amount changed without a new CRC, or another CRC.
  const amountField = `54${String(String(payment.amount).length).padStart(2, "0")}${payment.amount}`;
  const at = payload.indexOf(amountField);
  if (at < 0) fail(`no amount field ${amountField} in our payload ${payload}`);
  const changed = String(payment.amount).replace(/^./, (d) => String((Number(d) % 9) + 1));
  const tampered = payload.slice(0, at + 4) + changed + payload.slice(at + 4 + changed.length);
  if (new QRPay(tampered).isValid) fail("vietnam-qr-pay accepts our payload with its amount changed");
  const lastCrcChar = payload.at(-1) === "0" ? "1" : "0";
  if (new QRPay(payload.slice(0, -1) + lastCrcChar).isValid) fail("vietnam-qr-pay accepts our payload with another CRC");
  return { ref, amount: payment.amount };
}

// ---------------------------------------------------------------------------------------------
// 2. The VNPay payment URL, verified and rebuilt by the vnpay package.

function vnpayClient(secureSecret) {
  return new VNPay({
    tmnCode,
    secureSecret,
    vnpayHost: base,
    endpoints: { paymentEndpoint: "sim/vnpay/pay" },
    hashAlgorithm: HashAlgorithm.SHA512,
    enableLog: false,
    loggerFn: ignoreLogger,
  });
}

/**
 * vnp_SecureHash as the package computes it for any vnp_ parameters: its own helpers, the very
 * ones its buildPaymentUrl and verifyReturnUrl/verifyIpnCall use (sorted by name, empty values
 * left out, form-encoded with URLSearchParams, HMAC-SHA512 in hex). The package has no public
 * "sign these parameters" method, so IPNs are signed with these.
 */
function packageHash(params, secureSecret = secret) {
  return calculateSecureHash({
    secureSecret,
    data: buildPaymentUrlSearchParams(params).toString(),
    hashAlgorithm: HashAlgorithm.SHA512,
    bufferEncode: "utf-8",
  });
}

function queryOf(url) {
  const params = {};
  for (const [k, v] of url.searchParams) {
    if (k in params) fail(`the VNPay URL names ${k} twice`);
    params[k] = v;
  }
  return params;
}

async function checkVnpayUrl(vnpay) {
  const { payment } = await dossierWithPayment();
  const ref = payment.reference;
  const answer = (await call("POST", `/api/v1/payments/${ref}/vnpay`, { json: { locale: "vn" }, expect: 200 })).body;
  const redirect = answer?.redirect_url;
  if (typeof redirect !== "string") fail(`POST /api/v1/payments/${ref}/vnpay: no redirect_url`);
  const url = new URL(redirect);
  expectEqual("the VNPay URL's page", url.origin + url.pathname, `${base}/sim/vnpay/pay`);
  const params = queryOf(url);
  expectEqual("vnp_Version", params.vnp_Version, "2.1.0");
  expectEqual("vnp_Command", params.vnp_Command, "pay");
  expectEqual("vnp_TmnCode", params.vnp_TmnCode, tmnCode);
  expectEqual("vnp_Amount (VND times 100)", params.vnp_Amount, String(payment.amount * 100));
  expectEqual("vnp_CurrCode", params.vnp_CurrCode, "VND");
  expectEqual("vnp_TxnRef", params.vnp_TxnRef, ref);
  expectEqual("vnp_Locale", params.vnp_Locale, "vn");
  expectEqual("vnp_ReturnUrl", params.vnp_ReturnUrl, `${base}/pay/vnpay/return`);
  for (const k of ["vnp_OrderInfo", "vnp_OrderType", "vnp_IpAddr", "vnp_CreateDate"]) {
    if (!params[k]) fail(`the VNPay URL has no ${k}`);
  }
  if (!/^[0-9a-f]{128}$/.test(params.vnp_SecureHash ?? "")) {
    fail(`vnp_SecureHash is not 128 lower-case hex digits: ${params.vnp_SecureHash}`);
  }

  // (a) The package's verifier accepts our signature over the URL's parameters, and would not
  //     accept it with a changed amount or under another secret (so (a) is not vacuous).
  if (!vnpay.verifyReturnUrl({ ...params }).isVerified) {
    fail("the vnpay package does not verify the vnp_SecureHash of our payment URL");
  }
  if (vnpay.verifyReturnUrl({ ...params, vnp_Amount: String(payment.amount * 100 + 100) }).isVerified) {
    fail("the vnpay package verifies our URL with a changed amount; the check is vacuous");
  }
  if (vnpayClient(randomBytes(16).toString("hex")).verifyReturnUrl({ ...params }).isVerified) {
    fail("the vnpay package verifies our URL under another secret; the check is vacuous");
  }

  // (b) The package's buildPaymentUrl, given our parameters (it takes the amount in VND and
  //     multiplies by 100 itself; vnp_Version, vnp_Command, vnp_CurrCode and vnp_TmnCode come
  //     from its configuration, which holds the same values), must sign exactly the parameter
  //     set we signed, and so give the same vnp_SecureHash; the whole URL is then ours byte for
  //     byte. Should it ever force a parameter differently, (c) still compares the hash over our
  //     exact parameters.
  const built = new URL(
    vnpay.buildPaymentUrl({
      vnp_Amount: Number(params.vnp_Amount) / 100,
      vnp_TxnRef: params.vnp_TxnRef,
      vnp_OrderInfo: params.vnp_OrderInfo,
      vnp_OrderType: params.vnp_OrderType,
      vnp_ReturnUrl: params.vnp_ReturnUrl,
      vnp_IpAddr: params.vnp_IpAddr,
      vnp_Locale: params.vnp_Locale,
      vnp_CreateDate: Number(params.vnp_CreateDate),
      ...(params.vnp_ExpireDate ? { vnp_ExpireDate: Number(params.vnp_ExpireDate) } : {}),
      ...(params.vnp_BankCode ? { vnp_BankCode: params.vnp_BankCode } : {}),
    }),
  );
  const theirs = queryOf(built);
  const ours = Object.keys(params).sort().join(",");
  expectEqual("the parameters the vnpay package signs for the same payment", Object.keys(theirs).sort().join(","), ours);
  for (const k of Object.keys(params)) {
    if (k !== "vnp_SecureHash") expectEqual(`${k} as the vnpay package builds it`, theirs[k], params[k]);
  }
  expectEqual("vnp_SecureHash as the vnpay package's buildPaymentUrl computes it", theirs.vnp_SecureHash, params.vnp_SecureHash);
  expectEqual("the payment URL as the vnpay package builds it", built.toString(), redirect);

  // (c) The package's hashing helpers over our exact parameters (all but the hash itself).
  const { vnp_SecureHash, ...unsigned } = params;
  expectEqual("vnp_SecureHash recomputed by the vnpay package's helpers over our parameters", packageHash(unsigned), vnp_SecureHash);
  return { ref, amount: payment.amount, orderInfo: params.vnp_OrderInfo };
}

// ---------------------------------------------------------------------------------------------
// 3. IPNs forged with the package's signing, sent to our IPN endpoint.

/** VNPay's time stamps: yyyyMMddHHmmss in Vietnam's time (UTC+7). */
function vnpayStamp(at = new Date()) {
  return new Date(at.getTime() + 7 * 3600 * 1000).toISOString().replace(/\D/g, "").slice(0, 14);
}

async function sendIpn(params) {
  const query = new URLSearchParams(params).toString();
  const res = await call("GET", `/api/v1/payments/vnpay/ipn?${query}`, { expect: 200 });
  if (!res.body || typeof res.body.RspCode !== "string") fail(`the IPN endpoint answered no RspCode: ${res.text}`);
  return res.body.RspCode;
}

async function statusOf(ref) {
  return (await call("GET", `/api/v1/payments/${ref}`, { expect: 200 })).body;
}

async function checkIpns(vnpay, { ref, amount, orderInfo }) {
  const transactionNo = String(randomInt(10_000_000, 100_000_000));
  const fields = (over = {}) => ({
    vnp_Amount: String(amount * 100),
    vnp_BankCode: "NCB",
    vnp_BankTranNo: `VNP${transactionNo}`,
    vnp_CardType: "ATM",
    vnp_OrderInfo: orderInfo,
    vnp_PayDate: vnpayStamp(),
    vnp_ResponseCode: "00",
    vnp_TmnCode: tmnCode,
    vnp_TransactionNo: transactionNo,
    vnp_TransactionStatus: "00",
    vnp_TxnRef: ref,
    ...over,
  });
  const signed = (params, secureSecret = secret) => {
    const hash = packageHash(params, secureSecret);
    return { ...params, vnp_SecureHash: hash };
  };
  const answers = [];
  const expectIpn = async (what, params, want) => {
    const got = await sendIpn(params);
    answers.push(got);
    if (got !== want.RspCode) fail(`IPN ${what}: expected RspCode ${want.RspCode} (${want.Message}), got ${got}`);
  };
  const stillUnpaid = async (after) => {
    const p = await statusOf(ref);
    if (p.status === "succeeded" || p.receipt_number != null) fail(`the payment was credited after ${after}`);
  };

  const good = signed(fields());
  // Our signer agrees with the package's own IPN verifier, and the server's parameters would pass it.
  if (!vnpay.verifyIpnCall({ ...good }).isVerified) fail("the vnpay package does not verify the IPN signed with its helpers");

  await expectIpn("signed with another secret", signed(fields(), randomBytes(16).toString("hex")), IpnFailChecksum);
  await stillUnpaid("an IPN with a bad signature");
  await expectIpn("with a wrong amount (signed)", signed(fields({ vnp_Amount: String((amount + 1000) * 100) })), IpnInvalidAmount);
  await stillUnpaid("an IPN with a wrong amount");
  await expectIpn("for an unknown order Q10P0000000000", signed(fields({ vnp_TxnRef: "Q10P0000000000" })), IpnOrderNotFound);
  await stillUnpaid("an IPN for another order");
  await expectIpn("confirming the payment", good, IpnSuccess);
  await expectIpn("confirming it again", good, InpOrderAlreadyConfirmed);

  const paid = await statusOf(ref);
  expectEqual(`GET /api/v1/payments/${ref} status`, paid.status, "succeeded");
  expectEqual(`GET /api/v1/payments/${ref} provider`, paid.provider, "vnpay");
  if (!Number.isInteger(paid.receipt_number)) fail(`the paid payment has no receipt_number: ${JSON.stringify(paid)}`);
  const receipt = (await call("GET", `/api/v1/payments/${ref}/receipt`, { expect: 200 })).body;
  expectEqual("the receipt's number", receipt?.number, paid.receipt_number);
  expectEqual("the receipt's reference", receipt?.reference, ref);
  expectEqual("the receipt's amount", receipt?.amount, amount);
  expectEqual("the receipt's method", receipt?.method, "vnpay");
  return { answers, receipt: paid.receipt_number };
}

async function main() {
  if (!/^https?:\/\//.test(base)) fail("set Q10_CONTRACT_BASE (or pass the server's base URL)");
  if (!secret || !tmnCode) fail("set Q10_CONTRACT_VNPAY_SECRET and Q10_CONTRACT_VNPAY_TMN_CODE as the server has them");
  const vnpay = vnpayClient(secret);
  const qr = await checkVietqr();
  const url = await checkVnpayUrl(vnpay);
  const ipn = await checkIpns(vnpay, url);
  console.log(
    `payments: vietqr of ${qr.ref} (${qr.amount} VND to ${DEMO_BIN}/${DEMO_ACCOUNT}) decoded and re-encoded by ` +
      `vietnam-qr-pay ${version("vietnam-qr-pay")}; vnpay URL of ${url.ref} verified and rebuilt identically by ` +
      `vnpay ${version("vnpay")}; ${ipn.answers.length} forged IPNs answered ${ipn.answers.join("/")}; receipt ${ipn.receipt}`,
  );
}

main().catch((e) => {
  console.error(`payments: FAILED: ${e instanceof Mismatch ? e.message : e.stack || e}`);
  process.exit(1);
});
