//! `GET /client/extract/<uuid>/<token>`: the download link of an extracted template or ISO
//! (`extractTemplate` / `extractIso`, mode HTTP_DOWNLOAD). The token is the credential: the
//! app layer checks it against the stored hash, its expiry and the template; the image is then
//! streamed from the URL the template was registered from, chunk by chunk (never buffered
//! whole), without showing that URL. Refusals are plain text: 404 for an unknown or tampered
//! link, 410 for an expired one or a deleted template, 403 for a source at an internal address
//! the operator has not allowed, 502 when the source can't be read.
//!
//! The server fetching a URL a template's owner chose must not become a way into the
//! management network: the source's host is resolved once, every address must be public or in
//! `secstorage.allowed.internal.download.sites`, the request goes to that vetted address (a
//! rebinding DNS gets no second lookup) and no redirect is followed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ferrostack_app::template::LinkRefused;

use crate::http::ApiState;

/// The client the management server fetches a template source with: pinned to the vetted
/// address of the source's host (if it has a name), following no redirects.
fn source_client(pin: Option<(&str, SocketAddr)>) -> Result<reqwest::Client, reqwest::Error> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        // A source that stops sending for this long ends the download.
        .read_timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none());
    if let Some((host, addr)) = pin {
        b = b.resolve(host, addr);
    }
    b.build()
}

/// Loopback, private, link-local, shared, unspecified, broadcast, documentation and multicast
/// addresses: the networks a management server must not be made to fetch from.
fn internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => internal(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80
            }
        },
    }
}

/// The operator's allowed internal sites: CIDRs or single addresses; others are ignored (and
/// logged).
fn allowed_sites(sites: &[String]) -> Vec<ipnet::IpNet> {
    sites
        .iter()
        .filter_map(|s| {
            let net = s
                .parse::<ipnet::IpNet>()
                .ok()
                .or_else(|| s.parse::<IpAddr>().ok().map(ipnet::IpNet::from));
            if net.is_none() {
                tracing::warn!(site = %s, "secstorage.allowed.internal.download.sites: not a CIDR or address; ignored");
            }
            net
        })
        .collect()
}

/// Why a source is not fetched.
enum Unfit {
    /// Not an http(s) URL with a host.
    Malformed,
    /// Its host does not resolve.
    Unresolved,
    /// It is (or resolves to) an internal address the operator has not allowed.
    Internal,
}

/// Resolve and vet the source's host: the address to pin (for a host name), or why not.
async fn vet(url: &reqwest::Url, allowed: &[ipnet::IpNet]) -> Result<Option<(String, SocketAddr)>, Unfit> {
    let fits = |ip: IpAddr| !internal(ip) || allowed.iter().any(|n| n.contains(&ip));
    let port = url.port_or_known_default().ok_or(Unfit::Malformed)?;
    match url.host().ok_or(Unfit::Malformed)? {
        url::Host::Ipv4(ip) => fits(IpAddr::V4(ip)).then_some(None).ok_or(Unfit::Internal),
        url::Host::Ipv6(ip) => fits(IpAddr::V6(ip)).then_some(None).ok_or(Unfit::Internal),
        url::Host::Domain(name) => {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
                .await
                .map_err(|_| Unfit::Unresolved)?
                .collect();
            let first = *addrs.first().ok_or(Unfit::Unresolved)?;
            if addrs.iter().all(|a| fits(a.ip())) {
                Ok(Some((name.to_string(), first)))
            } else {
                Err(Unfit::Internal)
            }
        }
    }
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
    let Ok(url) = reqwest::Url::parse(&src.url) else {
        return plain(
            StatusCode::BAD_GATEWAY,
            "The location the image was registered from is not a URL the server can fetch",
        );
    };
    let client = match vet(&url, &allowed_sites(&src.allowed_internal)).await {
        Ok(pin) => source_client(pin.as_ref().map(|(h, a)| (h.as_str(), *a))),
        Err(Unfit::Internal) => {
            tracing::warn!(extract = %uuid, "an extracted template's source is at an internal address; refused");
            return plain(
                StatusCode::FORBIDDEN,
                "The image was registered from an internal address, which the management server does not fetch \
                 from; an operator can allow the site with secstorage.allowed.internal.download.sites",
            );
        }
        Err(Unfit::Malformed | Unfit::Unresolved) => {
            return plain(
                StatusCode::BAD_GATEWAY,
                "The location the image was registered from can't be reached (no such host); try again later",
            )
        }
    };
    let Ok(client) = client else {
        return plain(
            StatusCode::BAD_GATEWAY,
            "The image could not be fetched; try again later",
        );
    };
    let resp = match client.get(url).send().await {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_the_management_networks() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "151.101.1.1", "2a00:1450::1"] {
            assert!(!internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn sources_are_vetted_against_the_allowed_sites() {
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        let none: Vec<ipnet::IpNet> = Vec::new();
        assert!(matches!(
            vet(&url("http://169.254.169.254/latest"), &none).await,
            Err(Unfit::Internal)
        ));
        assert!(matches!(
            vet(&url("http://[::1]:8080/x"), &none).await,
            Err(Unfit::Internal)
        ));
        assert!(matches!(
            vet(&url("http://localhost:1/x"), &none).await,
            Err(Unfit::Internal)
        ));
        assert!(matches!(vet(&url("http://8.8.8.8/x"), &none).await, Ok(None)));
        let allowed = allowed_sites(&["127.0.0.0/8".into(), "not-a-cidr".into(), "::1".into()]);
        assert_eq!(allowed.len(), 2);
        assert!(matches!(vet(&url("http://127.0.0.1:9/x"), &allowed).await, Ok(None)));
        match vet(&url("http://localhost:9/x"), &allowed).await {
            Ok(Some((host, addr))) => assert!(host == "localhost" && addr.ip().is_loopback()),
            Ok(None) | Err(_) => panic!("localhost resolves to an allowed address and is pinned"),
        }
        assert!(matches!(
            vet(&url("http://10.0.0.1/x"), &allowed).await,
            Err(Unfit::Internal)
        ));
    }
}
