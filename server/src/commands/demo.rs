//! `unthread demo`: a small, real starting set of targets so a first run is not empty.
//!
//! These are the repositories and the dependency named by the Open edX epic
//! (openedx/openedx-platform#38680). Loading is idempotent: targets that exist are left alone
//! and only newly registered targets get a `target.registered` event.

use sqlx::PgPool;

/// (kind, name) of every demo target.
const DEMO_TARGETS: &[(&str, &str)] = &[
    ("platform", "openedx/openedx-platform"),
    ("library", "openedx/edx-django-utils"),
    ("library", "openedx/event-tracking"),
    ("library", "openedx/edx-ace"),
    ("library", "openedx/XBlock"),
    ("dependency", "django-crum"),
];

pub async fn load_demo(pool: &PgPool) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let mut added = 0;
    for (kind, name) in DEMO_TARGETS {
        let inserted = sqlx::query_scalar!(
            "INSERT INTO targets (kind, name) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING id",
            kind,
            name
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = inserted {
            app::models::events::record(
                &mut *tx,
                None,
                "target.registered",
                Some(id),
                serde_json::json!({ "source": "demo" }),
            )
            .await?;
            added += 1;
        }
    }
    tx.commit().await?;
    tracing::info!(added, total = DEMO_TARGETS.len(), "demo data loaded");
    Ok(())
}
