//! Migrations against a real database: both embedded sets apply, applying again is a no-op,
//! a failing migration leaves the schema unchanged, edited or unknown history is refused, and
//! concurrent appliers serialise.

use managed_pg::testing::TestDb;
use migrations::{apply, Migration, MigrationError, MigrationSet, CONTROL_PLANE, TENANT};

async fn tables(db: &TestDb) -> Vec<String> {
    let client = db.connect().await;
    client
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_sets_apply_once_then_are_a_no_op() {
    for set in [CONTROL_PLANE, TENANT] {
        let db = TestDb::new().await;
        let mut client = db.connect().await;
        let first = apply(&mut client, &set).await.unwrap();
        let all: Vec<u32> = set.migrations.iter().map(|m| m.version).collect();
        assert_eq!(first.applied, all, "{}", set.name);
        let before = tables(&db).await;
        let second = apply(&mut client, &set).await.unwrap();
        assert!(
            second.applied.is_empty(),
            "second apply of {} must be a no-op",
            set.name
        );
        assert_eq!(second.current, all.last().copied());
        assert_eq!(tables(&db).await, before);
        db.drop_database().await;
    }
}

static GOOD: &[Migration] = &[Migration {
    version: 1,
    name: "first",
    sql: "CREATE TABLE first_t (id int)",
}];

static WITH_BROKEN: &[Migration] = &[
    Migration {
        version: 1,
        name: "first",
        sql: "CREATE TABLE first_t (id int)",
    },
    Migration {
        version: 2,
        name: "second",
        sql: "CREATE TABLE second_t (id int); INSERT INTO first_t VALUES (1)",
    },
    Migration {
        version: 3,
        name: "broken",
        sql: "CREATE TABLE third_t (id int); SELECT no_such_column FROM first_t",
    },
];

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_migration_leaves_the_schema_unchanged() {
    let db = TestDb::new().await;
    let mut client = db.connect().await;
    apply(
        &mut client,
        &MigrationSet {
            name: "demo",
            migrations: GOOD,
        },
    )
    .await
    .unwrap();
    let before = tables(&db).await;

    let err = apply(
        &mut client,
        &MigrationSet {
            name: "demo",
            migrations: WITH_BROKEN,
        },
    )
    .await
    .unwrap_err();
    match &err {
        MigrationError::Failed { version, name, .. } => {
            assert_eq!((*version, *name), (3, "broken"))
        }
        other => panic!("expected Failed, got {other}"),
    }
    assert!(err.to_string().contains("left unchanged"), "{err}");
    // Neither V2 nor V3 left anything: no tables, no rows, no history.
    assert_eq!(tables(&db).await, before);
    let rows: i64 = client
        .query_one("SELECT count(*) FROM first_t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
    let history: i64 = client
        .query_one(
            "SELECT count(*) FROM schema_migrations WHERE set_name = 'demo'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(history, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn edited_and_unknown_migrations_are_refused() {
    let db = TestDb::new().await;
    let mut client = db.connect().await;
    apply(
        &mut client,
        &MigrationSet {
            name: "demo",
            migrations: GOOD,
        },
    )
    .await
    .unwrap();
    static EDITED: &[Migration] = &[Migration {
        version: 1,
        name: "first",
        sql: "CREATE TABLE first_t (id bigint)",
    }];
    let err = apply(
        &mut client,
        &MigrationSet {
            name: "demo",
            migrations: EDITED,
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, MigrationError::ChecksumMismatch { version: 1, .. }),
        "{err}"
    );

    client
        .execute(
            "INSERT INTO schema_migrations (set_name, version, name, checksum) VALUES ('demo', 9, 'future', 'x')",
            &[],
        )
        .await
        .unwrap();
    let err = apply(
        &mut client,
        &MigrationSet {
            name: "demo",
            migrations: GOOD,
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, MigrationError::UnknownApplied { version: 9, .. }),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_appliers_apply_each_migration_once() {
    let db = TestDb::new().await;
    let mut handles = Vec::new();
    for _ in 0..4 {
        let db = db.clone();
        handles.push(tokio::spawn(async move {
            let mut client = db.connect().await;
            apply(&mut client, &TENANT).await.unwrap().applied.len()
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap();
    }
    assert_eq!(
        total,
        TENANT.migrations.len(),
        "each migration applied by exactly one caller"
    );
}
