//! A static file server on loopback: what a Helm chart repository is
//! (`index.yaml` plus packaged charts), served from a local directory.
//!
//! Deliberately small: `GET` and `HEAD`, one request per connection (HTTP by
//! hyper, see `http`), no directory listings. Nothing outside the root is ever served: `..`
//! segments (also percent-encoded) and symbolic links that leave the root
//! answer `404`, like any file that is not there.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpStream;

use super::accept::AcceptLoop;
use super::http;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot serve `{}`: not a directory", root.display())]
    Root {
        root: PathBuf,
        #[source]
        source: Option<std::io::Error>,
    },
    #[error("cannot listen on 127.0.0.1 to serve `{}`", root.display())]
    Bind {
        root: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A running server. Dropping it stops the listener and open connections.
#[derive(Debug)]
pub struct StaticServer {
    root: PathBuf,
    connections: AcceptLoop,
}

impl StaticServer {
    /// Serves `root` on `127.0.0.1` (a free port).
    pub async fn start(root: &Path) -> Result<StaticServer, ServeError> {
        let root = tokio::fs::canonicalize(root)
            .await
            .map_err(|e| ServeError::Root {
                root: root.to_owned(),
                source: Some(e),
            })?;
        if !tokio::fs::metadata(&root).await.is_ok_and(|m| m.is_dir()) {
            return Err(ServeError::Root { root, source: None });
        }
        let bind_error = |source| ServeError::Bind {
            root: root.clone(),
            source,
        };
        let served = Arc::new(root.clone());
        let connections = AcceptLoop::loopback(move |stream| serve(stream, served.clone()))
            .await
            .map_err(bind_error)?;
        Ok(StaticServer { root, connections })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    pub fn addr(&self) -> SocketAddr {
        self.connections.addr()
    }

    /// The directory served (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }
}

async fn serve(stream: TcpStream, root: Arc<PathBuf>) {
    http::serve(stream, |request| answer(request, &root)).await;
}

async fn answer(request: Request<Incoming>, root: &Path) -> Response<http::Body> {
    let head_only = match *request.method() {
        Method::GET => false,
        Method::HEAD => true,
        _ => {
            let body = "gitops-e2e: only GET and HEAD\n";
            return http::text(
                StatusCode::METHOD_NOT_ALLOWED,
                &[("Allow", "GET, HEAD")],
                body,
            );
        }
    };
    // Origin form (`/a/b?query`), or the path of the absolute form
    // (`http://host/path`), which HTTP/1.1 servers must accept: the host is
    // ours whatever it says.
    let target = request.uri().path_and_query().map_or("", |p| p.as_str());
    let not_found = || http::text(StatusCode::NOT_FOUND, &[], "gitops-e2e: not found\n");
    let file = match resolve(root, target).await {
        Ok(file) => file,
        Err(Refusal::BadRequest) => {
            let body = "gitops-e2e: bad request target\n";
            return http::text(StatusCode::BAD_REQUEST, &[], body);
        }
        Err(Refusal::NotFound) => return not_found(),
    };
    let Ok(content) = tokio::fs::read(&file).await else {
        return not_found();
    };
    let length = content.len() as u64;
    let body = if head_only {
        Bytes::new()
    } else {
        Bytes::from(content)
    };
    http::response(
        StatusCode::OK,
        &[("Content-Type", content_type(&file))],
        length,
        body,
    )
}

#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    BadRequest,
    NotFound,
}

/// The regular file under `root` that `target` names.
async fn resolve(root: &Path, target: &str) -> Result<PathBuf, Refusal> {
    let relative = relative_path(target)?;
    let path = root.join(relative);
    // Symbolic links are followed only while they stay inside the root.
    let real = tokio::fs::canonicalize(&path)
        .await
        .map_err(|_| Refusal::NotFound)?;
    if !real.starts_with(root) {
        return Err(Refusal::NotFound);
    }
    match tokio::fs::metadata(&real).await {
        Ok(meta) if meta.is_file() => Ok(real),
        _ => Err(Refusal::NotFound),
    }
}

/// The path of a request target (`/a/b?query`), percent-decoded, as a
/// relative path of plain segments. `..` anywhere is refused as not found.
fn relative_path(target: &str) -> Result<PathBuf, Refusal> {
    let path = target.split(['?', '#']).next().unwrap_or_default();
    if !path.starts_with('/') {
        return Err(Refusal::BadRequest);
    }
    let decoded = percent_decode(path).ok_or(Refusal::BadRequest)?;
    if decoded.contains(&0) {
        return Err(Refusal::NotFound);
    }
    let mut relative = PathBuf::new();
    for segment in decoded.split(|&b| b == b'/') {
        match segment {
            b"" | b"." => {}
            b".." => return Err(Refusal::NotFound),
            _ => relative.push(OsStr::from_bytes(segment)),
        }
    }
    if relative.as_os_str().is_empty() {
        return Err(Refusal::NotFound);
    }
    Ok(relative)
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(OsStr::to_str) {
        Some("yaml" | "yml") => "application/yaml",
        Some("tgz" | "gz") => "application/gzip",
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Sends a raw request; returns the whole response.
    pub(crate) async fn raw(addr: SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    /// `GET path`; returns the status line and the body.
    pub(crate) async fn get(addr: SocketAddr, path: &str) -> (String, String) {
        let response = raw(addr, &format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")).await;
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let status = head.lines().next().unwrap_or_default().to_string();
        (status, body.to_string())
    }

    fn site() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("sub dir")).unwrap();
        std::fs::write(root.join("index.yaml"), "apiVersion: v1\n").unwrap();
        std::fs::write(root.join("sub dir/c-0.1.0.tgz"), b"\x1f\x8b").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "outside").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("escape.txt")).unwrap();
        std::os::unix::fs::symlink("index.yaml", root.join("alias.yaml")).unwrap();
        dir
    }

    async fn server(dir: &tempfile::TempDir) -> StaticServer {
        StaticServer::start(&dir.path().join("root")).await.unwrap()
    }

    #[tokio::test]
    async fn serves_files_with_length_and_type() {
        let dir = site();
        let server = server(&dir).await;
        assert!(server.url().starts_with("http://127.0.0.1:"));
        let response = raw(server.addr(), "GET /index.yaml HTTP/1.1\r\n\r\n").await;
        assert_eq!(
            response,
            "HTTP/1.1 200 OK\r\nContent-Type: application/yaml\r\nContent-Length: 15\r\n\
             Connection: close\r\n\r\napiVersion: v1\n"
        );
        let (status, body) = get(server.addr(), "/sub%20dir/c-0.1.0.tgz?x=1").await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(body.as_bytes(), b"\x1f\xef\xbf\xbd"); // lossy view of 1f 8b
        let (status, _) = get(server.addr(), "http://127.0.0.1/index.yaml").await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        let (status, body) = get(server.addr(), "/./alias.yaml").await;
        assert_eq!(
            (status.as_str(), body.as_str()),
            ("HTTP/1.1 200 OK", "apiVersion: v1\n")
        );
    }

    #[tokio::test]
    async fn head_sends_headers_only() {
        let dir = site();
        let server = server(&dir).await;
        let response = raw(
            server.addr(),
            "HEAD /sub%20dir/c-0.1.0.tgz HTTP/1.1\r\n\r\n",
        )
        .await;
        assert_eq!(
            response,
            "HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\nContent-Length: 2\r\n\
             Connection: close\r\n\r\n"
        );
    }

    #[tokio::test]
    async fn missing_files_and_directories_are_404() {
        let dir = site();
        let server = server(&dir).await;
        for path in [
            "/nope.yaml",
            "/",
            "/sub%20dir",
            "/sub%20dir/",
            "/index.yaml/x",
        ] {
            let (status, _) = get(server.addr(), path).await;
            assert_eq!(status, "HTTP/1.1 404 Not Found", "{path}");
        }
    }

    #[tokio::test]
    async fn refuses_traversal_with_404() {
        let dir = site();
        let server = server(&dir).await;
        for path in [
            "/../secret.txt",
            "/sub%20dir/../../secret.txt",
            "/%2e%2e/secret.txt",
            "/..%2Fsecret.txt",
            "/%2E%2E%2fsecret.txt",
            "//etc/passwd",
            "/%2Fetc%2Fpasswd",
            "/escape.txt",
            "/index.yaml%00.txt",
        ] {
            let (status, body) = get(server.addr(), path).await;
            assert_eq!(status, "HTTP/1.1 404 Not Found", "{path}");
            assert!(!body.contains("outside"), "{path}");
        }
    }

    #[tokio::test]
    async fn malformed_requests_are_400_and_other_methods_405() {
        let dir = site();
        let server = server(&dir).await;
        for request in [
            "GET index.yaml HTTP/1.1\r\n\r\n",
            "GET /%zz HTTP/1.1\r\n\r\n",
            "GET /%2 HTTP/1.1\r\n\r\n",
            "GET /index.yaml\r\n\r\n",
            "garbage\r\n\r\n",
        ] {
            let response = raw(server.addr(), request).await;
            assert!(
                response.starts_with("HTTP/1.1 400 Bad Request\r\n"),
                "{request:?}: {response}"
            );
        }
        let response = raw(server.addr(), "POST /index.yaml HTTP/1.1\r\n\r\n").await;
        assert!(response.starts_with("HTTP/1.1 405 "), "{response}");
        assert!(response.contains("Allow: GET, HEAD\r\n"), "{response}");
    }

    #[tokio::test]
    async fn a_missing_root_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = StaticServer::start(&missing).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot serve `{}`: not a directory", missing.display())
        );
        let file = dir.path().join("f");
        std::fs::write(&file, "").unwrap();
        assert!(StaticServer::start(&file).await.is_err());
    }

    #[tokio::test]
    async fn stops_when_dropped() {
        let dir = site();
        let server = server(&dir).await;
        let addr = server.addr();
        drop(server);
        let refused = async {
            while TcpStream::connect(addr).await.is_ok() {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), refused)
            .await
            .expect("the server still accepts after drop");
    }
}
