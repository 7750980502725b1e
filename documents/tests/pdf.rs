//! PDFs through real WeasyPrint, checked with real poppler tools: content of every template for
//! every account type, the embedded signature image, PDF metadata, determinism (twice through
//! the pool, and pool against CLI) and hash sensitivity to the data.

mod support;

use documents::factory::GenerateError;
use documents::model::{AccountType, User};
use documents::registry;
use documents::sample;
use support::{harness, pdf_images, pdf_info, pdf_text, squash};

const KINDS: [AccountType; 3] = [
    AccountType::Individual,
    AccountType::Entrepreneur,
    AccountType::Organization,
];

#[test]
fn every_template_for_every_account_type_has_the_expected_text() {
    let Some(h) = harness("every_template_for_every_account_type_has_the_expected_text") else {
        return;
    };
    for id in sample::REGISTRY_IDS {
        let template = registry::registry().unwrap().get(id).unwrap();
        for kind in KINDS {
            let data = sample::data(kind);
            let doc = h
                .block_on(h.pool.generate(id, sample::meta_input(id, kind), &data))
                .unwrap_or_else(|e| panic!("registry {id} {kind:?}: {e}"));
            assert!(doc.binary.starts_with(b"%PDF-1.7"));
            assert_eq!(doc.hash.len(), 64);
            assert_eq!(doc.hash, doc.hash.to_uppercase());
            let text = pdf_text(&doc.binary);
            let ctx = format!("registry {id}, {kind:?}");
            assert!(text.contains(&squash(&template.title)), "{ctx}: title");
            assert!(
                text.contains(&squash(&data.coop.full_name)),
                "{ctx}: cooperative"
            );
            assert!(text.contains("01.02.2025"), "{ctx}: date");
            let name = squash(&data.user.display_name());
            let signer = squash(&data.user.signer_name());
            assert!(
                text.contains(&name) || text.contains(&signer),
                "{ctx}: member name {name:?} not in {text}"
            );
            // Only the application carries the handwritten signature.
            let images = pdf_images(&doc.binary).len();
            assert_eq!(images, usize::from(id == 100), "{ctx}: images");
        }
    }
}

#[test]
fn application_embeds_the_signature_image_with_its_size() {
    let Some(h) = harness("application_embeds_the_signature_image_with_its_size") else {
        return;
    };
    let kind = AccountType::Entrepreneur;
    let doc = h
        .block_on(
            h.pool
                .generate(100, sample::meta_input(100, kind), &sample::data(kind)),
        )
        .unwrap();
    let images = pdf_images(&doc.binary);
    assert_eq!(images.len(), 1, "{images:?}");
    let cols: Vec<&str> = images[0].split_whitespace().collect();
    assert_eq!((cols[3], cols[4]), ("300", "100"), "{images:?}");
    // Without a signature (the preview) there is no image and a preview note.
    let mut data = sample::data(kind);
    data.signature = None;
    let preview = h
        .block_on(h.pool.generate(100, sample::meta_input(100, kind), &data))
        .unwrap();
    assert!(pdf_images(&preview.binary).is_empty());
    assert!(pdf_text(&preview.binary).contains("собственноручная подпись ещё не поставлена"));
    assert_ne!(preview.hash, doc.hash);
    // The image never reaches meta.
    assert!(!serde_json::to_string(&doc.meta.to_value())
        .unwrap()
        .contains("base64"));
}

#[test]
fn pdf_metadata_comes_from_meta() {
    let Some(h) = harness("pdf_metadata_comes_from_meta") else {
        return;
    };
    let kind = AccountType::Individual;
    let doc = h
        .block_on(
            h.pool
                .generate(2, sample::meta_input(2, kind), &sample::data(kind)),
        )
        .unwrap();
    let info = pdf_info(&doc.binary);
    assert_eq!(info["Title"], doc.meta.title);
    assert_eq!(info["Creator"], "mono-rs-1.0.0");
    // 10:30 in Moscow is 07:30 UTC.
    assert_eq!(info["CreationDate"], "2025-02-01T07:30:00Z");
    assert_eq!(info["ModDate"], "2025-02-01T07:30:00Z");
    assert_eq!(info["Page size"], "595.276 x 841.89 pts (A4)");
    assert!(info["Producer"].starts_with("WeasyPrint"));
    // Only PT Serif, regular and bold, embedded as subsets.
    let fonts = support::pdf_fonts(&doc.binary);
    let embedded: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(
        !embedded.is_empty() && embedded.iter().all(|l| l.contains("+PT-Serif")),
        "{fonts}"
    );
    let raw = String::from_utf8_lossy(&doc.binary);
    assert!(raw.contains("/Lang (ru)"), "catalog language");
    // In UTC the same instant reads 07:30.
    let mut input = sample::meta_input(2, kind);
    input.timezone = Some("UTC".into());
    input.created_at = Some("01.02.2025 07:30".into());
    let utc = h
        .block_on(h.pool.generate(2, input, &sample::data(kind)))
        .unwrap();
    assert_eq!(
        pdf_info(&utc.binary)["CreationDate"],
        "2025-02-01T07:30:00Z"
    );
    assert_ne!(utc.hash, doc.hash, "the printed time and zone differ");
}

#[test]
fn same_input_gives_the_same_bytes_through_pool_and_cli() {
    let Some(h) = harness("same_input_gives_the_same_bytes_through_pool_and_cli") else {
        return;
    };
    let kind = AccountType::Organization;
    let generate = |f: &documents::factory::Factory| {
        h.block_on(f.generate(100, sample::meta_input(100, kind), &sample::data(kind)))
            .unwrap()
    };
    let first = generate(&h.pool);
    let second = generate(&h.pool);
    assert_eq!(first.hash, second.hash);
    assert_eq!(first.binary, second.binary);
    assert_eq!(first.meta, second.meta);
    // A fresh process, more than a second later: font subsets carry no timestamp.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let cli = generate(&h.cli);
    assert_eq!(h.cli.pdf().kind(), "cli");
    assert_eq!(h.pool.pdf().kind(), "pool");
    assert_eq!(
        h.pool.pdf().weasyprint_version(),
        h.cli.pdf().weasyprint_version()
    );
    assert_eq!(
        cli.hash, first.hash,
        "pool and CLI must produce identical PDFs"
    );
}

#[test]
fn one_changed_data_field_changes_the_hash() {
    let Some(h) = harness("one_changed_data_field_changes_the_hash") else {
        return;
    };
    let kind = AccountType::Individual;
    let base = h
        .block_on(
            h.pool
                .generate(1, sample::meta_input(1, kind), &sample::data(kind)),
        )
        .unwrap();
    let mut data = sample::data(kind);
    if let User::Individual(i) = &mut data.user {
        i.first_name = "Пётр".into();
    }
    let changed = h
        .block_on(h.pool.generate(1, sample::meta_input(1, kind), &data))
        .unwrap();
    assert_ne!(base.hash, changed.hash);
    // Agreements name the member, so two members signing in the same minute get different
    // documents (the reference's templates 1-3 did not).
    let mut other_user = sample::meta_input(1, kind);
    other_user.username = "petrov.pp".into();
    let mut data = sample::data(kind);
    if let User::Individual(i) = &mut data.user {
        i.last_name = "Петров".into();
    }
    let other = h.block_on(h.pool.generate(1, other_user, &data)).unwrap();
    assert_ne!(base.hash, other.hash);
}

#[test]
fn invalid_input_is_rejected_before_rendering() {
    let Some(h) = harness("invalid_input_is_rejected_before_rendering") else {
        return;
    };
    let kind = AccountType::Organization;
    let mut data = sample::data(kind);
    if let User::Organization(o) = &mut data.user {
        o.details.inn = "5007123458".into();
    }
    let err = h
        .block_on(h.pool.generate(100, sample::meta_input(100, kind), &data))
        .unwrap_err();
    assert!(matches!(err, GenerateError::Data(_)), "{err}");
    assert!(
        err.to_string()
            .contains("user.organization.details.inn: INN 5007123458 has a wrong check digit"),
        "{err}"
    );
}
