//! Weekly report downloads: `GET /reports/weekly/2026-W47.md` (also `.json`, `.csv`,
//! `-changes.csv`), `?tz=Europe/Paris` for another timezone; and the JSON schema at
//! `/reports/weekly/schema.json`.

use app::{error::AppError, report::Format, state::AppState};
use axum::{
    extract::{Path, Query, State},
    http::header,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct DownloadQuery {
    tz: Option<String>,
}

pub async fn download(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(query): Query<DownloadQuery>,
) -> Response {
    if file == "schema.json" {
        return ([(header::CONTENT_TYPE, "application/schema+json")], app::report::JSON_SCHEMA).into_response();
    }
    let Some((week, format)) = Format::split_file_name(&file) else {
        return AppError::not_found("no such report: ask for 2026-W47.md, .json, .csv or -changes.csv").into_response();
    };
    let options = match state.reports.resolve(Some(week), query.tz.as_deref()) {
        Ok(options) => options,
        Err(e) => return AppError::bad_request(e).into_response(),
    };
    match app::report::build(&state.pool, &options).await {
        Ok(report) => (
            [
                (header::CONTENT_TYPE, format.content_type().to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"unthread-{}\"", report.file_name(format)),
                ),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            report.render(format),
        )
            .into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}
