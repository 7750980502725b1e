//! The `qrpay` provider (pure): the Russian payment string of ГОСТ Р 56042-2014 ("ST00012",
//! UTF-8) from the cooperative's bank details, and a PNG QR code of it.
//!
//! Fixed against the reference: the sum keeps kopecks (an amount with a fraction of a kopeck is
//! refused, never rounded), and values are never allowed to break the string: the standard has
//! no escape for the `|` separator, so a value holding `|` (or a control character) is
//! **rejected** with the field named, as are values over the standard's field lengths.
//! Confirmation is manual (`setPaymentStatus`); fee and tolerance are 0.

use chain::asset::Asset;
use qrcode::{Color, EcLevel, QrCode};
use thiserror::Error;

use super::method::BankAccount;
use super::PaymentKind;

/// Name of the provider.
pub const PROVIDER: &str = "qrpay";
/// Pixels per QR module in the PNG.
pub const MODULE_PX: u32 = 8;
/// Quiet zone around the code, in modules (the QR standard's minimum).
pub const QUIET_MODULES: u32 = 4;

/// Who receives the money: the cooperative's legal name, INN, KPP and its default bank account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payee {
    pub name: String,
    pub inn: String,
    pub kpp: String,
    pub bank: BankAccount,
}

/// Why a payment string or QR code cannot be made. Safe to show.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum QrError {
    #[error(
        "{field} must not contain '|' or control characters (it would break the payment string)"
    )]
    Separator { field: &'static str },
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} is longer than the {max} characters ГОСТ Р 56042-2014 allows")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} must be {what}")]
    Format {
        field: &'static str,
        what: &'static str,
    },
    #[error("the amount {0} has a fraction of a kopeck")]
    FractionOfKopeck(String),
    #[error("the amount {0} must be positive")]
    NotPositive(String),
    #[error("the payment string does not fit in a QR code")]
    TooBig,
}

/// The purpose line of a payment (our own wording).
pub fn purpose(kind: PaymentKind, order_num: i64) -> String {
    match kind {
        PaymentKind::Registration => {
            format!("Вступительный взнос и минимальный паевой взнос, заказ №{order_num}. Без НДС.")
        }
        PaymentKind::Deposit => format!("Паевой взнос, заказ №{order_num}. Без НДС."),
    }
}

/// The amount in kopecks: the asset's precision is dropped only where it is zero.
pub fn kopecks(amount: Asset) -> Result<u64, QrError> {
    let text = amount.to_string();
    if amount.amount <= 0 {
        return Err(QrError::NotPositive(text));
    }
    let units = amount.amount as u64;
    let precision = u32::from(amount.symbol.precision());
    if precision >= 2 {
        let div = 10u64.pow(precision - 2);
        if units % div != 0 {
            return Err(QrError::FractionOfKopeck(text));
        }
        Ok(units / div)
    } else {
        units
            .checked_mul(10u64.pow(2 - precision))
            .ok_or(QrError::TooLong {
                field: "Sum",
                max: 18,
            })
    }
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), QrError> {
    if value.trim().is_empty() {
        return Err(QrError::Empty { field });
    }
    if value.chars().any(|c| c == '|' || c.is_control()) {
        return Err(QrError::Separator { field });
    }
    if value.chars().count() > max {
        return Err(QrError::TooLong { field, max });
    }
    Ok(())
}

fn check_digits(
    field: &'static str,
    value: &str,
    lens: &[usize],
    what: &'static str,
) -> Result<(), QrError> {
    if lens.contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(QrError::Format { field, what })
    }
}

/// The ST00012 string: `ST00012|Name=…|PersonalAcc=…|BankName=…|BIC=…|CorrespAcc=…|Sum=…|
/// Purpose=…|PayeeINN=…|KPP=…` (version 0001, charset 2 = UTF-8, sum in kopecks).
pub fn payment_string(payee: &Payee, amount: Asset, purpose: &str) -> Result<String, QrError> {
    check_text("Name", &payee.name, 160)?;
    check_digits(
        "PersonalAcc",
        &payee.bank.account_number,
        &[20],
        "20 digits",
    )?;
    check_text("BankName", &payee.bank.bank_name, 45)?;
    check_digits("BIC", &payee.bank.details.bik, &[9], "9 digits")?;
    check_digits("CorrespAcc", &payee.bank.details.corr, &[20], "20 digits")?;
    check_text("Purpose", purpose, 210)?;
    check_digits("PayeeINN", &payee.inn, &[10, 12], "10 or 12 digits")?;
    check_digits("KPP", &payee.kpp, &[9], "9 digits")?;
    let sum = kopecks(amount)?;
    let sum_text = sum.to_string();
    if sum_text.len() > 18 {
        return Err(QrError::TooLong {
            field: "Sum",
            max: 18,
        });
    }
    Ok(format!(
        "ST00012|Name={}|PersonalAcc={}|BankName={}|BIC={}|CorrespAcc={}|Sum={}|Purpose={}|PayeeINN={}|KPP={}",
        payee.name,
        payee.bank.account_number,
        payee.bank.bank_name,
        payee.bank.details.bik,
        payee.bank.details.corr,
        sum_text,
        purpose,
        payee.inn,
        payee.kpp,
    ))
}

/// A PNG (8-bit grey) of the QR code of `text` (error correction M, byte mode), with
/// [`MODULE_PX`] pixels per module and a [`QUIET_MODULES`] quiet zone. Returns the PNG and its
/// side in pixels.
pub fn qr_png(text: &str) -> Result<(Vec<u8>, u32), QrError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|_| QrError::TooBig)?;
    let modules = code.width() as u32;
    let colors = code.to_colors();
    let side_modules = modules + 2 * QUIET_MODULES;
    let side = side_modules * MODULE_PX;
    let mut pixels = vec![255u8; (side * side) as usize];
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (mx, my) = (i as u32 % modules, i as u32 / modules);
        let (x0, y0) = (
            (mx + QUIET_MODULES) * MODULE_PX,
            (my + QUIET_MODULES) * MODULE_PX,
        );
        for y in y0..y0 + MODULE_PX {
            let row = (y * side) as usize;
            pixels[row + x0 as usize..row + (x0 + MODULE_PX) as usize].fill(0);
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|_| QrError::TooBig)?;
        writer
            .write_image_data(&pixels)
            .map_err(|_| QrError::TooBig)?;
    }
    Ok((out, side))
}
