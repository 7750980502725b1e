//! HTML rendering of every template for every account type (no WeasyPrint needed): content,
//! escaping, meta/data agreement and schema checks.

use documents::factory::{self, GenerateError};
use documents::meta::MetaError;
use documents::model::{AccountType, User};
use documents::registry;
use documents::render::Renderer;
use documents::sample;
use documents::schema;

const KINDS: [AccountType; 3] = [
    AccountType::Individual,
    AccountType::Entrepreneur,
    AccountType::Organization,
];

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[test]
fn every_template_renders_for_every_account_type() {
    let renderer = Renderer::new().unwrap();
    for id in sample::REGISTRY_IDS {
        for kind in KINDS {
            let data = sample::data(kind);
            let doc = factory::prepare(&renderer, id, sample::meta_input(id, kind), &data, 0)
                .unwrap_or_else(|e| panic!("registry {id} {kind:?}: {e}"));
            let html = &doc.html;
            let template = registry::registry().unwrap().get(id).unwrap();
            assert_eq!(doc.meta.title, template.title);
            assert!(
                html.contains(&html_escape(&template.title)),
                "{id} {kind:?}: title"
            );
            assert!(
                html.contains(&html_escape(&data.coop.full_name)),
                "{id}: coop"
            );
            assert!(html.contains("01.02.2025"), "{id}: date");
            let name = data.user.display_name();
            let signer = data.user.signer_name();
            assert!(
                html.contains(&html_escape(&name)) || html.contains(&html_escape(&signer)),
                "{id} {kind:?}: member name"
            );
            assert!(html.contains("<html lang=\"ru\">"));
            assert!(html.contains("name=\"dcterms.created\" content=\"2025-02-01T07:30:00Z\""));
            assert!(html.contains("@page"), "{id}: print CSS inlined");
            assert!(
                !html.contains("{{") && !html.contains("{%"),
                "{id}: unrendered tags"
            );
            assert_eq!(
                doc.full_title,
                format!("{} - {signer} - 01.02.2025 10:30.pdf", template.title)
            );
        }
    }
}

#[test]
fn application_variants_show_the_right_requisites_and_the_signature() {
    let renderer = Renderer::new().unwrap();
    let prepare = |kind| {
        factory::prepare(
            &renderer,
            100,
            sample::meta_input(100, kind),
            &sample::data(kind),
            0,
        )
        .unwrap()
        .html
    };
    let individual = prepare(AccountType::Individual);
    assert!(individual.contains("Прошу принять меня в пайщики"));
    assert!(
        individual.contains("1\u{a0}000,00\u{a0}руб."),
        "registration fee"
    );
    assert!(individual.contains("<img src=\"data:image/png;base64,iVBORw0KGgo"));
    let entrepreneur = prepare(AccountType::Entrepreneur);
    assert!(entrepreneur.contains("318774600123452"), "OGRNIP");
    let organization = prepare(AccountType::Organization);
    assert!(organization.contains("просит принять организацию в пайщики"));
    assert!(
        organization.contains("10\u{a0}000,00\u{a0}руб."),
        "organization fee"
    );
    assert!(organization.contains("5007123459 / 1155000123453 / 502201001"));
    // No branch block for a cooperative without branches.
    assert!(!individual.contains("Кооперативный участок"));
}

#[test]
fn branched_cooperative_application_delegates_to_the_branch() {
    let renderer = Renderer::new().unwrap();
    let mut data = sample::data(AccountType::Individual);
    data.coop.is_branched = true;
    let input = sample::meta_input(100, AccountType::Individual);
    // braname is required when the cooperative is branched.
    let err = factory::prepare(&renderer, 100, input.clone(), &data, 0).unwrap_err();
    assert!(
        matches!(
            err,
            GenerateError::Meta(MetaError::MissingKey { key: "braname", .. })
        ),
        "{err}"
    );
    let mut with_branch = input.clone();
    with_branch
        .extra
        .insert("braname".into(), "vskpodolsk".into());
    let html = factory::prepare(&renderer, 100, with_branch, &data, 0)
        .unwrap()
        .html;
    assert!(html.contains("Кооперативный участок"));
    assert!(html.contains("Доверяю председателю участка Васильев Павел Игоревич"));
    // The branch in meta must be the branch in the data.
    let mut other = input;
    other.extra.insert("braname".into(), "vskother".into());
    let err = factory::prepare(&renderer, 100, other, &data, 0).unwrap_err();
    assert!(
        err.to_string()
            .contains("meta.braname is vskother, but the data has branch vskpodolsk"),
        "{err}"
    );
}

#[test]
fn user_text_is_escaped() {
    let renderer = Renderer::new().unwrap();
    let mut data = sample::data(AccountType::Individual);
    if let User::Individual(i) = &mut data.user {
        i.last_name = "<b>Иванов</b> & \"Ко\"".into();
    }
    let html = factory::prepare(
        &renderer,
        3,
        sample::meta_input(3, AccountType::Individual),
        &data,
        0,
    )
    .unwrap()
    .html;
    assert!(!html.contains("<b>Иванов"));
    assert!(html.contains("&lt;b&gt;Иванов&lt;/b&gt; &amp; &quot;Ко&quot;"));
}

#[test]
fn meta_and_data_must_agree() {
    let renderer = Renderer::new().unwrap();
    let kind = AccountType::Individual;
    let data = sample::data(kind);
    let mut input = sample::meta_input(501, kind);
    input.extra.insert("decision_id".into(), 43.into());
    let err = factory::prepare(&renderer, 501, input, &data, 0).unwrap_err();
    assert!(
        err.to_string()
            .contains("meta.decision_id is 43, but the data has decision 42"),
        "{err}"
    );

    let mut input = sample::meta_input(1, kind);
    input.coopname = "othercoop".into();
    let err = factory::prepare(&renderer, 1, input, &data, 0).unwrap_err();
    assert!(matches!(
        err,
        GenerateError::Meta(MetaError::DataMismatch {
            key: "coopname",
            ..
        })
    ));

    let mut input = sample::meta_input(599, kind);
    input.extra.clear();
    let err = factory::prepare(&renderer, 599, input, &data, 0).unwrap_err();
    assert!(
        err.to_string()
            .contains("meta.project_id is required by registry 599"),
        "{err}"
    );

    let err = factory::prepare(&renderer, 77, sample::meta_input(1, kind), &data, 0).unwrap_err();
    assert!(
        err.to_string().contains("registry_id 77 has no template"),
        "{err}"
    );
}

#[test]
fn schema_requires_the_parts_a_template_reads() {
    let renderer = Renderer::new().unwrap();
    let kind = AccountType::Organization;
    let mut data = sample::data(kind);
    data.decision = None;
    let err =
        factory::prepare(&renderer, 501, sample::meta_input(501, kind), &data, 0).unwrap_err();
    match err {
        GenerateError::Schema {
            registry_id,
            violations,
        } => {
            assert_eq!(registry_id, 501);
            assert_eq!(violations[0].to_string(), "/decision: is required");
        }
        other => panic!("expected a schema error, got {other}"),
    }
}

#[test]
fn schemas_are_self_contained_and_accept_the_samples() {
    for template in registry::registry().unwrap().templates() {
        assert!(
            template.schema["$defs"]["coop"].is_object(),
            "{}",
            template.name
        );
        assert!(!template.title.is_empty() && template.version == "1.0.0");
        for kind in KINDS {
            let value = serde_json::to_value(sample::data(kind)).unwrap();
            let violations = schema::check(&template.schema, &value);
            assert!(
                violations.is_empty(),
                "{} {kind:?}: {violations:?}",
                template.name
            );
        }
    }
    // Two account types at once violate the user schema too.
    let template = registry::registry().unwrap().get(1).unwrap();
    let mut value = serde_json::to_value(sample::data(AccountType::Individual)).unwrap();
    value["user"]["organization"] = serde_json::to_value(sample::user(AccountType::Organization))
        .unwrap()["organization"]
        .clone();
    let violations = schema::check(&template.schema, &value);
    assert!(
        violations
            .iter()
            .any(|v| v.path == "/user" && v.message.contains("oneOf")),
        "{violations:?}"
    );
}
