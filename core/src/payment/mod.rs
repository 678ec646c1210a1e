//! Payment providers' formats: VietQR payloads (NAPAS) and VNPay's signed parameters. The
//! payment intents, their providers and their HTTP endpoints build on these.

pub mod vietqr;
pub mod vnpay;
