//! `GET /api/v1/openapi.json`: the REST API described as an OpenAPI 3 document, generated
//! from the handlers' own annotations and types (utoipa), so it cannot drift from them; a
//! test checks that every `/api/v1` route of the router is in it.

use axum::Json;
use utoipa::{
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

use super::{api, changes};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Unthread REST API",
        description = "Scan uploads from CI (API tokens) and maintainers' actions (a signed-in session: the `unthread_session` cookie). Pages and their server functions under `/api/` are not part of this API.",
    ),
    paths(
        api::create_token,
        api::list_tokens,
        api::revoke_token,
        api::upload_scan,
        api::baseline,
        api::add_link,
        api::remove_link,
        api::trigger_sync,
        api::rescan_target,
        api::retry_job,
        api::cancel_job,
        changes::create,
        changes::get,
        changes::list,
        document,
    ),
    modifiers(&Authentication),
    tags(
        (name = "scans", description = "Scan results from CI"),
        (name = "tokens", description = "API tokens for CI"),
        (name = "links", description = "Links between findings or targets and GitHub issues or pull requests"),
        (name = "jobs", description = "Rescans and the job queue"),
        (name = "github", description = "GitHub sync"),
        (name = "changes", description = "Pull requests Unthread opens: fixes of findings, pin bumps"),
        (name = "meta", description = "This document"),
    )
)]
pub struct ApiDoc;

/// The two ways to authenticate.
struct Authentication;

impl Modify for Authentication {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("unt_…").build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::session::COOKIE))),
        );
    }
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3 document of this API", content_type = "application/json")))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
