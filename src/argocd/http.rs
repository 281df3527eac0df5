//! HTTP/1.1 for the loopback servers here, by hyper: one request per
//! connection, its head bounded in size ([`MAX_HEAD`]) and time
//! ([`HEAD_TIMEOUT`]). hyper answers a request it cannot parse itself (`400`,
//! `431` for an oversized head) and closes a connection whose head takes too
//! long. Every response but a CONNECT's `200` carries `Content-Length` and
//! `Connection: close` (which is what ends the connection after it), header
//! names in title case; an HTTP/1.0 request gets an HTTP/1.0 answer.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;

/// The largest request head accepted; real clients send a few hundred bytes.
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// How long a client may take to send its request head.
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// A response body: always complete, so its length is known.
pub(crate) type Body = Full<Bytes>;

/// Serves the one request of `stream` with `handle`. Returns when the
/// response is written, or when a `CONNECT` answered with `2xx` has handed
/// the connection over (`hyper::upgrade::on`).
pub(crate) async fn serve<F, Fut>(stream: TcpStream, handle: F)
where
    F: Fn(Request<Incoming>) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    let service = service_fn(|request: Request<Incoming>| {
        // hyper takes any token as a method; a request line in lower case is
        // a client bug, not an extension method.
        let bad = !request
            .method()
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_uppercase());
        let answer = (!bad).then(|| handle(request));
        async move {
            Ok::<_, Infallible>(match answer {
                Some(answer) => answer.await,
                None => text(StatusCode::BAD_REQUEST, &[], "gitops-e2e: bad request\n"),
            })
        }
    });
    // Errors are the client's (a malformed or slow head, a dropped
    // connection) and already answered where an answer is due.
    let _ = builder()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
}

fn builder() -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        // Not `keep_alive(false)`: hyper would add `Connection: close` to a
        // CONNECT's `200` too. Every other response closes by its header.
        // A client may shut down its side once the request is sent.
        .half_close(true)
        .title_case_headers(true)
        .auto_date_header(false)
        .max_buf_size(MAX_HEAD)
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT);
    builder
}

/// A response with `headers`, then `Content-Length: content_length` and
/// `Connection: close`, after which the connection is closed. The length is that of the content even when `body`
/// is empty (the answer to `HEAD`).
pub(crate) fn response(
    status: StatusCode,
    headers: &[(&str, &str)],
    content_length: u64,
    body: Bytes,
) -> Response<Body> {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .header(CONTENT_LENGTH, content_length)
        .header(CONNECTION, HeaderValue::from_static("close"))
        .body(Full::new(body))
        .unwrap_or_else(|_| {
            // Only a header the caller wrote wrong gets here.
            let mut r = Response::new(Full::default());
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
}

/// A complete plain-text response.
pub(crate) fn text(status: StatusCode, extra: &[(&str, &str)], body: &str) -> Response<Body> {
    let mut headers = vec![(CONTENT_TYPE.as_str(), "text/plain; charset=utf-8")];
    headers.extend_from_slice(extra);
    response(
        status,
        &headers,
        body.len() as u64,
        Bytes::copy_from_slice(body.as_bytes()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use crate::argocd::accept::AcceptLoop;

    /// A server that answers every request with its method and target.
    async fn echo() -> AcceptLoop {
        AcceptLoop::loopback(|stream| {
            serve(stream, |request: Request<Incoming>| async move {
                let body = format!("{} {}", request.method(), request.uri());
                text(StatusCode::OK, &[], &body)
            })
        })
        .await
        .unwrap()
    }

    async fn send(addr: SocketAddr, bytes: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        // The server may answer (and close) before reading it all.
        let _ = s.write_all(bytes).await;
        let _ = s.shutdown().await;
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test]
    async fn answers_once_with_length_and_close() {
        let server = echo().await;
        let response = send(
            server.addr(),
            b"GET /a?b HTTP/1.1\r\nHost: x\r\n\r\nGET /again HTTP/1.1\r\n\r\n",
        )
        .await;
        assert_eq!(
            response,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: 8\r\nConnection: close\r\n\r\nGET /a?b"
        );
    }

    #[tokio::test]
    async fn accepts_bare_line_feeds() {
        let server = echo().await;
        let response = send(server.addr(), b"GET /index.yaml HTTP/1.0\n\n").await;
        assert!(response.starts_with("HTTP/1.0 200 OK\r\n"), "{response}");
        assert!(response.ends_with("GET /index.yaml"), "{response}");
    }

    #[tokio::test]
    async fn rejects_malformed_lines() {
        let server = echo().await;
        for bad in [
            &b"GET /\r\n\r\n"[..],
            b"GET / HTTP/2\r\n\r\n",
            b"get / HTTP/1.1\r\n\r\n",
            b"GET /a b HTTP/1.1\r\n\r\n",
            b"GET  / HTTP/1.1\r\n\r\n",
            b"\xff\xfe / HTTP/1.1\r\n\r\n",
        ] {
            let response = send(server.addr(), bad).await;
            assert!(
                response.starts_with("HTTP/1.1 400 Bad Request\r\n"),
                "{:?}: {response}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[tokio::test]
    async fn bounds_the_head() {
        let server = echo().await;
        let mut big = b"GET / HTTP/1.1\r\n".to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_HEAD + 10));
        let response = send(server.addr(), &big).await;
        assert!(response.starts_with("HTTP/1.1 431 "), "{response}");
        big.extend_from_slice(b"\r\n\r\n");
        let response = send(server.addr(), &big).await;
        assert!(response.starts_with("HTTP/1.1 431 "), "{response}");
    }

    #[tokio::test]
    async fn a_closed_connection_is_not_a_request() {
        let server = echo().await;
        assert_eq!(send(server.addr(), b"GET / HTT").await, "");
        // Blank lines before a request line are skipped (RFC 9112, 2.2), so
        // a head of nothing but them is unfinished, not malformed.
        assert_eq!(send(server.addr(), b"\r\n\r\n").await, "");
    }
}
