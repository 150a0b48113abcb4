//! `GET /client/extract/<uuid>/<token>`: the download link of an extracted template or ISO
//! (`extractTemplate` / `extractIso`, mode HTTP_DOWNLOAD). The token is the credential: the
//! app layer checks it against the stored hash, its expiry and the template; the image is then
//! streamed from the URL the template was registered from, chunk by chunk (never buffered
//! whole), without showing that URL. Refusals are plain text: 404 for an unknown or tampered
//! link, 410 for an expired one or a deleted template, 502 when the source can't be read.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ferrostack_app::template::LinkRefused;

use crate::http::ApiState;

/// The client the management server fetches template sources with.
pub fn source_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        // A source that stops sending for this long ends the download.
        .read_timeout(Duration::from_secs(60))
        .build()
        .unwrap_or_default()
}

fn plain(status: StatusCode, msg: &str) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        format!("{msg}\n"),
    )
        .into_response()
}

pub(crate) async fn download(
    State(state): State<Arc<ApiState>>,
    Path((uuid, token)): Path<(String, String)>,
) -> Response {
    let found = ferrostack_app::db_discipline_scope(state.app.template_extract_source(&uuid, &token)).await;
    let src = match found {
        Ok(s) => s,
        Err(LinkRefused::Unknown) => {
            return plain(
                StatusCode::NOT_FOUND,
                "No such download link; extract the template again (extractTemplate / extractIso) for a new one",
            )
        }
        Err(LinkRefused::Expired) => return plain(
            StatusCode::GONE,
            "This download link has expired; extract the template again (extractTemplate / extractIso) for a new one",
        ),
        Err(LinkRefused::Gone) => {
            return plain(
                StatusCode::GONE,
                "The template or ISO of this download link has been deleted",
            )
        }
    };
    // The source URL may carry credentials: it is never logged nor shown.
    let resp = match state.sources.get(&src.url).send().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(extract = %uuid, error = %e.without_url(), "fetching an extracted template's source failed");
            return plain(
                StatusCode::BAD_GATEWAY,
                "The image could not be fetched from the location it was registered from; try again later",
            );
        }
    };
    if !resp.status().is_success() {
        tracing::warn!(extract = %uuid, status = resp.status().as_u16(), "an extracted template's source refused");
        return plain(
            StatusCode::BAD_GATEWAY,
            &format!(
                "The location the image was registered from answered HTTP {}",
                resp.status().as_u16()
            ),
        );
    }
    let len = resp.content_length();
    let mut out = Response::new(Body::from_stream(resp.bytes_stream()));
    let h = out.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", src.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(n) = len {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    out
}
