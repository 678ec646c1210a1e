//! Payments: intents for fees and tuition, paid by VNPay, by a VietQR bank transfer, or at a
//! cash desk, with a receipt numbered without gaps.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::dossier::named_enum;

named_enum! {
    /// Where a payment stands (Stripe's payment intent states).
    PaymentStatus {
        /// Created; nobody has started paying.
        RequiresPayment = "requires_payment",
        /// Sent to a provider; waiting for its word.
        Processing = "processing",
        /// Paid; a receipt was issued.
        Succeeded = "succeeded",
        /// The provider reported the payment failed.
        Failed = "failed",
        /// Abandoned before it was paid.
        Canceled = "canceled",
        /// Paid, then the money was given back.
        Refunded = "refunded",
    }
}

impl PaymentStatus {
    /// No provider's word changes it any more.
    pub fn is_final(self) -> bool {
        !matches!(self, PaymentStatus::RequiresPayment | PaymentStatus::Processing)
    }
}

named_enum! {
    /// What a payment is for.
    PaymentPurpose {
        /// The fee of a dossier (the amount is the procedure's fee).
        DossierFee = "dossier_fee",
        /// Another fee collected by the office.
        ServiceFee = "service_fee",
        /// School tuition.
        Tuition = "tuition",
    }
}

named_enum! {
    /// How it was (or is being) paid.
    PaymentProvider {
        Vnpay = "vnpay",
        Vietqr = "vietqr",
        Cash = "cash",
    }
}

/// A new payment intent. Send an `Idempotency-Key` header with it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewPayment {
    pub purpose: PaymentPurpose,
    /// `dossier_fee`: the dossier's code (the amount is its fee).
    #[serde(default)]
    pub dossier_code: Option<String>,
    /// Other purposes (staff only): the amount in VND.
    #[serde(default)]
    pub amount: Option<i64>,
    /// Other purposes: what is paid for.
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Payment {
    /// Also the VNPay order reference and the VietQR transfer purpose.
    pub reference: String,
    pub purpose: PaymentPurpose,
    /// VND.
    pub amount: i64,
    pub currency: String,
    pub description: String,
    pub status: PaymentStatus,
    pub provider: Option<PaymentProvider>,
    pub dossier_code: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub paid_at: Option<OffsetDateTime>,
    pub receipt_number: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct VnpayStart {
    /// `vn` or `en`: the language of VNPay's pages.
    #[serde(default)]
    pub locale: Option<String>,
    /// Preselect a bank or method at VNPay (e.g. `VNBANK`, `INTCARD`).
    #[serde(default)]
    pub bank_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VnpayRedirect {
    /// Send the payer's browser here.
    pub redirect_url: String,
}

/// A dynamic VietQR code for the payment: any Vietnamese banking app pays it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VietqrCode {
    /// The EMVCo payload the QR code holds.
    pub payload: String,
    /// The QR code as SVG markup.
    pub svg: String,
    pub bank_bin: String,
    pub account: String,
    pub account_name: String,
    pub amount: i64,
    /// The transfer's purpose: the payment's reference.
    pub reference: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct RefundRequest {
    pub reason: String,
}

/// A receipt (biên lai).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    /// Consecutive, without gaps.
    pub number: i64,
    pub reference: String,
    pub amount: i64,
    pub method: PaymentProvider,
    #[serde(with = "time::serde::rfc3339")]
    pub paid_at: OffsetDateTime,
    pub description: String,
    pub dossier_code: Option<String>,
    /// The office that collects.
    pub office: String,
    /// Who issued it: the cashier, or the provider for online payments.
    pub issued_by: String,
}

/// A bank's notice of a credit to the office's account (VietQR transfers), signed per Standard
/// Webhooks with the secret agreed with the bank or its aggregator.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BankCredit {
    /// The bank's transaction id: the same credit is counted once.
    pub transaction_id: String,
    pub account: String,
    /// VND.
    pub amount: i64,
    /// The transfer's free text, which carries our reference.
    pub description: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// What the bank-notice endpoint made of a credit.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BankCreditOutcome {
    /// `credited`, `duplicate`, `no_payment`, `wrong_amount` or `not_payable`.
    pub outcome: String,
    pub reference: Option<String>,
}

/// Our answer to a VNPay IPN.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IpnResponse {
    #[serde(rename = "RspCode")]
    pub rsp_code: String,
    #[serde(rename = "Message")]
    pub message: String,
}
