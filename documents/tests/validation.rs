//! Data validation: requisites with check digits, contacts, dates, the member's account type
//! and the signature image (format, structure, size limits).

use documents::image::{ImageError, SignatureImage, MAX_IMAGE_BYTES};
use documents::model::{AccountType, DocumentData, User};
use documents::sample;
use documents::validate::Problem;

fn all_types() -> [AccountType; 3] {
    [
        AccountType::Individual,
        AccountType::Entrepreneur,
        AccountType::Organization,
    ]
}

#[test]
fn sample_data_of_every_account_type_is_valid() {
    for kind in all_types() {
        let data = sample::data(kind);
        assert_eq!(data.validate(), Ok(()), "{kind:?}");
        assert_eq!(data.user.account_type(), kind);
    }
}

#[test]
fn bad_inn_ogrn_bik_and_accounts_are_rejected_with_field_paths() {
    let mut data = sample::data(AccountType::Organization);
    data.coop.details.inn = "7735123451".into();
    data.coop.details.ogrn = "1027700123451".into();
    data.coop.bank_account.account_number = "40703810603800012346".into();
    data.coop.bank_account.details.corr = "30101810400000000226".into();
    if let User::Organization(o) = &mut data.user {
        o.bank_account.details.bik = "144525225".into();
        o.details.kpp = "50220100".into();
    }
    let errors = data.validate().unwrap_err();
    for field in [
        "coop.details.inn",
        "coop.details.ogrn",
        "coop.bank_account.account_number",
        "coop.bank_account.details.corr",
        "user.organization.bank_account.details.bik",
        "user.organization.details.kpp",
    ] {
        assert!(errors.has(field), "{field} not reported in {errors}");
    }
    let text = errors.to_string();
    assert!(
        text.contains("coop.details.inn: INN 7735123451 has a wrong check digit"),
        "{text}"
    );
    assert!(
        text.contains("BIK must be 9 digits starting with 04"),
        "{text}"
    );
    assert!(
        text.contains("does not match BIK 044525225 (control key)"),
        "{text}"
    );
}

#[test]
fn entrepreneur_needs_a_12_digit_inn_and_a_15_digit_ogrnip() {
    let mut data = sample::data(AccountType::Entrepreneur);
    if let User::Entrepreneur(e) = &mut data.user {
        e.details.inn = "7735123450".into();
        e.details.ogrn = "318774600123453".into();
    }
    let errors = data.validate().unwrap_err();
    assert!(matches!(
        &errors.0[0].problem,
        Problem::InnFormat { expected, .. } if expected.starts_with("12")
    ));
    assert!(errors
        .to_string()
        .contains("OGRNIP 318774600123453 has a wrong check digit"));
}

#[test]
fn contacts_and_dates_are_checked() {
    let mut data = sample::data(AccountType::Individual);
    if let User::Individual(i) = &mut data.user {
        i.email = "ivanov.example.ru".into();
        i.phone = "8 912 345 67 89".into();
        i.birthdate = "1985-02-30".into();
        i.last_name = "  ".into();
    }
    data.decision.as_mut().unwrap().voters_percent = 120.0;
    let errors = data.validate().unwrap_err();
    for field in [
        "user.individual.email",
        "user.individual.phone",
        "user.individual.birthdate",
        "user.individual.last_name",
        "decision.voters_percent",
    ] {
        assert!(errors.has(field), "{field} not reported in {errors}");
    }
}

#[test]
fn user_must_have_exactly_one_account_type() {
    let mut json = serde_json::to_value(sample::data(AccountType::Individual)).unwrap();
    let org = serde_json::to_value(sample::user(AccountType::Organization)).unwrap();
    json["user"]["organization"] = org["organization"].clone();
    let err = serde_json::from_value::<DocumentData>(json.clone()).unwrap_err();
    assert!(
        err.to_string().contains(
            "exactly one of individual, entrepreneur, organization; found individual, organization"
        ),
        "{err}"
    );
    json["user"] = serde_json::json!({});
    let err = serde_json::from_value::<DocumentData>(json).unwrap_err();
    assert!(err.to_string().contains("found none"), "{err}");
}

#[test]
fn data_round_trips_through_json_with_the_signature_as_a_data_url() {
    let data = sample::data(AccountType::Entrepreneur);
    let json = serde_json::to_value(&data).unwrap();
    assert!(json["signature"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,iVBORw0KGgo"));
    assert!(json["user"]["entrepreneur"].is_object());
    assert!(json["user"].get("individual").is_none_or(|v| v.is_null()));
    let back: DocumentData = serde_json::from_value(json).unwrap();
    assert_eq!(back, data);
}

#[test]
fn signature_png_dimensions_come_from_the_header() {
    let image = SignatureImage::from_bytes(sample::signature_png(320, 120)).unwrap();
    assert_eq!((image.width(), image.height()), (320, 120));
    let url = image.to_data_url();
    assert_eq!(SignatureImage::from_data_url(&url).unwrap(), image);
}

#[test]
fn invalid_images_are_rejected() {
    let png = sample::signature_png(300, 100);
    // Not an image at all.
    assert_eq!(
        SignatureImage::from_bytes(b"GIF89a....".to_vec()),
        Err(ImageError::UnknownFormat)
    );
    // PNG magic with a corrupted IHDR.
    let mut corrupt = png.clone();
    corrupt[18] ^= 0x01;
    assert_eq!(
        SignatureImage::from_bytes(corrupt),
        Err(ImageError::Png("chunk CRC mismatch"))
    );
    // Truncated PNG.
    assert!(matches!(
        SignatureImage::from_bytes(png[..png.len() - 20].to_vec()),
        Err(ImageError::Png(_))
    ));
    // Too many pixels.
    assert_eq!(
        SignatureImage::from_bytes(sample::signature_png(2100, 10)),
        Err(ImageError::TooManyPixels {
            width: 2100,
            height: 10,
            limit: 2000
        })
    );
    // Too many bytes.
    let big = sample::signature_png(1000, 300);
    assert!(big.len() > MAX_IMAGE_BYTES);
    assert_eq!(
        SignatureImage::from_bytes(big.clone()),
        Err(ImageError::TooLarge {
            bytes: big.len(),
            limit: MAX_IMAGE_BYTES
        })
    );
    // A data URL that lies about the type, and one that is not base64.
    let url = SignatureImage::from_bytes(png).unwrap().to_data_url();
    let lying = url.replace("image/png", "image/jpeg");
    assert_eq!(
        SignatureImage::from_data_url(&lying),
        Err(ImageError::MimeMismatch {
            declared: "image/jpeg",
            actual: "image/png"
        })
    );
    assert!(matches!(
        SignatureImage::from_data_url("data:image/png;base64,@@@@"),
        Err(ImageError::Base64(_))
    ));
    assert_eq!(
        SignatureImage::from_data_url("https://example.com/a.png"),
        Err(ImageError::DataUrl)
    );
    // Deserializing data with a broken signature names the problem.
    let mut json = serde_json::to_value(sample::data(AccountType::Individual)).unwrap();
    json["signature"] = serde_json::json!("data:image/png;base64,iVBORw0KGgoAAAA=");
    let err = serde_json::from_value::<DocumentData>(json).unwrap_err();
    assert!(err.to_string().contains("invalid PNG"), "{err}");
}

/// A minimal baseline JPEG header: SOI, APP0, SOF0 (3 components), SOS, a scan byte, EOI.
fn jpeg(width: u16, height: u16, with_eoi: bool) -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    j.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x10]);
    j.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    j.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
    j.extend_from_slice(&height.to_be_bytes());
    j.extend_from_slice(&width.to_be_bytes());
    j.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    j.extend_from_slice(&[
        0xFF, 0xDA, 0x00, 0x0C, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 0x3F, 0,
    ]);
    j.extend_from_slice(&[0x12, 0x34]);
    if with_eoi {
        j.extend_from_slice(&[0xFF, 0xD9]);
    }
    j
}

#[test]
fn jpeg_headers_are_parsed_and_checked() {
    let image = SignatureImage::from_bytes(jpeg(640, 200, true)).unwrap();
    assert_eq!((image.width(), image.height()), (640, 200));
    assert!(image.to_data_url().starts_with("data:image/jpeg;base64,"));
    assert_eq!(
        SignatureImage::from_bytes(jpeg(640, 200, false)),
        Err(ImageError::Jpeg("no end-of-image marker"))
    );
    assert_eq!(
        SignatureImage::from_bytes(jpeg(4000, 200, true)),
        Err(ImageError::TooManyPixels {
            width: 4000,
            height: 200,
            limit: 2000
        })
    );
    assert_eq!(
        SignatureImage::from_bytes(jpeg(0, 200, true)),
        Err(ImageError::ZeroSize)
    );
}
