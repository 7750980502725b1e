//! The `qrpay` provider: the ST00012 string (field order, kopecks kept, Cyrillic in UTF-8,
//! values with `|` refused) and its QR code as a valid PNG whose modules are the code's.

use chain::asset::Asset;
use qrcode::{Color, EcLevel, QrCode};
use tenant_node::payments::method::{BankAccount, BankDetails};
use tenant_node::payments::qrpay::{
    kopecks, payment_string, purpose, qr_png, Payee, QrError, MODULE_PX, QUIET_MODULES,
};
use tenant_node::payments::PaymentKind;

fn payee() -> Payee {
    Payee {
        name: "ПК \"Восход\"".into(),
        inn: "7701234567".into(),
        kpp: "770101001".into(),
        bank: BankAccount {
            account_number: "40703810900000000001".into(),
            bank_name: "ПАО Сбербанк".into(),
            card_number: None,
            currency: "RUB".into(),
            details: BankDetails {
                bik: "044525225".into(),
                corr: "30101810400000000225".into(),
                kpp: String::new(),
            },
        },
    }
}

fn asset(s: &str) -> Asset {
    Asset::parse(s).unwrap()
}

/// Splits an ST00012 string into its header and `(key, value)` fields.
fn fields(s: &str) -> (String, Vec<(String, String)>) {
    let mut parts = s.split('|');
    let header = parts.next().unwrap().to_owned();
    let fields = parts
        .map(|p| {
            let (k, v) = p.split_once('=').expect("key=value");
            (k.to_owned(), v.to_owned())
        })
        .collect();
    (header, fields)
}

#[test]
fn the_payment_string_has_the_fields_in_order_with_kopecks() {
    let text = payment_string(
        &payee(),
        asset("400.5000 RUB"),
        &purpose(PaymentKind::Registration, 17),
    )
    .unwrap();
    let (header, fields) = fields(&text);
    assert_eq!(
        header, "ST00012",
        "format ST, version 0001, charset 2 (UTF-8)"
    );
    let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "Name",
            "PersonalAcc",
            "BankName",
            "BIC",
            "CorrespAcc",
            "Sum",
            "Purpose",
            "PayeeINN",
            "KPP"
        ]
    );
    let get = |k: &str| fields.iter().find(|(key, _)| key == k).unwrap().1.clone();
    assert_eq!(get("Sum"), "40050", "400 roubles 50 kopecks");
    assert_eq!(get("Name"), "ПК \"Восход\"");
    assert_eq!(get("BankName"), "ПАО Сбербанк");
    assert_eq!(get("PersonalAcc"), "40703810900000000001");
    assert_eq!(get("BIC"), "044525225");
    assert_eq!(get("CorrespAcc"), "30101810400000000225");
    assert_eq!(get("PayeeINN"), "7701234567");
    assert_eq!(get("KPP"), "770101001");
    assert!(get("Purpose").contains("№17"));
    assert!(get("Purpose").ends_with("Без НДС."));
    // Cyrillic is carried as UTF-8 bytes, not transliterated or re-encoded
    assert!(text.as_bytes().windows(4).any(|w| w == "Сб".as_bytes()));
}

#[test]
fn kopecks_are_kept_and_fractions_of_a_kopeck_refused() {
    assert_eq!(kopecks(asset("1.0100 RUB")), Ok(101));
    assert_eq!(kopecks(asset("0.0100 RUB")), Ok(1));
    assert_eq!(kopecks(asset("12.34 RUB")), Ok(1234));
    assert_eq!(kopecks(asset("5 RUB")), Ok(500));
    assert_eq!(kopecks(asset("5.0 RUB")), Ok(500));
    assert!(matches!(
        kopecks(asset("1.0050 RUB")),
        Err(QrError::FractionOfKopeck(_))
    ));
    assert!(matches!(
        kopecks(asset("0.0000 RUB")),
        Err(QrError::NotPositive(_))
    ));
}

#[test]
fn values_that_would_break_the_string_are_refused() {
    let mut p = payee();
    p.name = "Восход|Sum=1".into();
    assert_eq!(
        payment_string(&p, asset("1.0000 RUB"), "x"),
        Err(QrError::Separator { field: "Name" })
    );
    let mut p = payee();
    p.bank.bank_name = "Банк\nSum=1".into();
    assert_eq!(
        payment_string(&p, asset("1.0000 RUB"), "x"),
        Err(QrError::Separator { field: "BankName" })
    );
    assert_eq!(
        payment_string(&payee(), asset("1.0000 RUB"), "оплата|Sum=1"),
        Err(QrError::Separator { field: "Purpose" })
    );
    let mut p = payee();
    p.inn = "77012345".into();
    assert!(matches!(
        payment_string(&p, asset("1.0000 RUB"), "x"),
        Err(QrError::Format {
            field: "PayeeINN",
            ..
        })
    ));
    let mut p = payee();
    p.bank.bank_name = "Б".repeat(46);
    assert_eq!(
        payment_string(&p, asset("1.0000 RUB"), "x"),
        Err(QrError::TooLong {
            field: "BankName",
            max: 45
        })
    );
}

#[test]
fn the_qr_code_is_a_valid_png_of_the_code_modules() {
    let text = payment_string(
        &payee(),
        asset("4000.0000 RUB"),
        &purpose(PaymentKind::Deposit, 3),
    )
    .unwrap();
    let (png_bytes, side) = qr_png(&text).unwrap();
    assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");

    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).unwrap();
    let modules = code.width() as u32;
    assert_eq!(side, (modules + 2 * QUIET_MODULES) * MODULE_PX);

    let decoder = png::Decoder::new(std::io::Cursor::new(&png_bytes));
    let mut reader = decoder.read_info().expect("a valid PNG header");
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).expect("a valid PNG image");
    assert_eq!((info.width, info.height), (side, side));
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    // the centre pixel of every module matches the code; the quiet zone is white
    let colors = code.to_colors();
    let px = |x: u32, y: u32| pixels[(y * side + x) as usize];
    for my in 0..modules {
        for mx in 0..modules {
            let x = (mx + QUIET_MODULES) * MODULE_PX + MODULE_PX / 2;
            let y = (my + QUIET_MODULES) * MODULE_PX + MODULE_PX / 2;
            let dark = colors[(my * modules + mx) as usize] == Color::Dark;
            assert_eq!(px(x, y), if dark { 0 } else { 255 }, "module {mx},{my}");
        }
    }
    for i in 0..side {
        assert_eq!(px(i, 0), 255);
        assert_eq!(px(0, i), 255);
    }
}
