//! An HTTP CONNECT proxy on loopback that routes production cluster
//! addresses to the local API servers that play them.
//!
//! The harness registers a cluster with its production URL (the one the
//! ApplicationSet names) and `proxyUrl` set to [`ConnectProxy::url`]; Argo CD
//! then asks the proxy for `CONNECT prod-eks-cluster-abc.eks.amazonaws.com:443`
//! and the proxy opens a plain TCP tunnel to, say, `127.0.0.1:32771`. TLS runs
//! end to end inside the tunnel (the cluster Secret's
//! `tlsClientConfig.serverName` names the certificate the local API server
//! presents), so the proxy never sees a key or a byte of the API traffic.
//!
//! Only the scenario's clusters are routed: any other host gets `403` and is
//! remembered for diagnostics ([`ConnectProxy::refused`]), so a misspelled
//! server URL shows up as such instead of as a timeout.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::ext::ReasonPhrase;
use hyper::upgrade::OnUpgrade;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::accept::AcceptLoop;
use super::http;

/// How long the proxy waits for a route's target to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("proxy route `{key}` is not `host:port`")]
    Route { key: String },
    #[error("cannot listen on {ip} for the cluster proxy")]
    Bind {
        ip: IpAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A running proxy. Dropping it stops the listener and every open tunnel.
#[derive(Debug)]
pub struct ConnectProxy {
    refused: Arc<Mutex<Vec<String>>>,
    tunnels: AcceptLoop,
}

type Routes = BTreeMap<String, SocketAddr>;

impl ConnectProxy {
    /// Listens on `127.0.0.1` (a free port) and tunnels each `"host:port"` of
    /// `routes` to its address.
    ///
    /// Keys always carry the port, as a CONNECT request does: an `https://`
    /// server URL without one is `host:443`. Hosts match case-insensitively.
    /// A key without a port is an error, not a guess.
    pub async fn start(routes: BTreeMap<String, SocketAddr>) -> Result<ConnectProxy, ProxyError> {
        Self::start_on(IpAddr::V4(Ipv4Addr::LOCALHOST), routes).await
    }

    /// Like [`ConnectProxy::start`], listening on `ip`: the address at which
    /// Argo CD reaches this machine when it runs in containers (the `kind`
    /// network's gateway). Only the scenario's clusters are routed, whoever
    /// connects.
    pub async fn start_on(
        ip: IpAddr,
        routes: BTreeMap<String, SocketAddr>,
    ) -> Result<ConnectProxy, ProxyError> {
        let routes = routes
            .into_iter()
            .map(|(key, addr)| match normalize_authority(&key) {
                Some(k) => Ok((k, addr)),
                None => Err(ProxyError::Route { key }),
            })
            .collect::<Result<Routes, _>>()?;
        let routes = Arc::new(routes);
        let refused = Arc::new(Mutex::new(Vec::new()));
        let seen = refused.clone();
        let tunnels = AcceptLoop::bind(ip, move |client| {
            serve(client, routes.clone(), seen.clone())
        })
        .await
        .map_err(|source| ProxyError::Bind { ip, source })?;
        Ok(ConnectProxy { refused, tunnels })
    }

    /// The value for a cluster Secret's `proxyUrl`: `http://IP:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    pub fn addr(&self) -> SocketAddr {
        self.tunnels.addr()
    }

    /// For the diagnostics bundle: the hosts Argo CD asked for that are no
    /// scenario cluster, if any.
    pub fn refused_file(&self) -> Option<super::DiagnosticFile> {
        let refused = self.refused();
        (!refused.is_empty()).then(|| super::DiagnosticFile::Text {
            name: "proxy-refused.txt".into(),
            text: format!(
                "Argo CD asked for these hosts, which are no scenario cluster:\n{}\n",
                refused.join("\n")
            ),
        })
    }

    /// The `host:port`s clients asked for that have no route, first-asked
    /// first, each once.
    pub fn refused(&self) -> Vec<String> {
        self.refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A tunnel the proxy agreed to: the client's connection once hyper hands
/// it over, and the connection to the route's target.
struct Tunnel {
    client: OnUpgrade,
    upstream: TcpStream,
}

async fn serve(client: TcpStream, routes: Arc<Routes>, refused: Arc<Mutex<Vec<String>>>) {
    let _ = client.set_nodelay(true);
    let tunnel = Mutex::new(None);
    http::serve(client, |request| {
        answer(request, &routes, &refused, &tunnel)
    })
    .await;
    let Some(Tunnel {
        client,
        mut upstream,
    }) = tunnel.lock().unwrap_or_else(PoisonError::into_inner).take()
    else {
        return;
    };
    // The bytes the client sent after its request head come first.
    let Ok(client) = client.await else {
        return;
    };
    // Either side closing or failing ends the tunnel; there is nobody to tell.
    let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(client), &mut upstream).await;
}

async fn answer(
    mut request: Request<Incoming>,
    routes: &Routes,
    refused: &Mutex<Vec<String>>,
    tunnel: &Mutex<Option<Tunnel>>,
) -> Response<http::Body> {
    if request.method() != Method::CONNECT {
        let body = format!(
            "gitops-e2e: this proxy only tunnels (CONNECT), not `{}`\n",
            request.method()
        );
        return http::text(
            StatusCode::METHOD_NOT_ALLOWED,
            &[("Allow", "CONNECT")],
            &body,
        );
    }
    let target = request.uri().to_string();
    let Some(authority) = normalize_authority(&target) else {
        let body = format!("gitops-e2e: CONNECT needs `host:port`, got `{target}`\n");
        return http::text(StatusCode::BAD_REQUEST, &[], &body);
    };
    let Some(&target) = routes.get(&authority) else {
        {
            let mut refused = refused.lock().unwrap_or_else(PoisonError::into_inner);
            if !refused.contains(&authority) {
                refused.push(authority.clone());
            }
        }
        let body = format!(
            "gitops-e2e: no route to `{authority}`; gitops-e2e only routes the scenario's clusters\n"
        );
        return http::text(StatusCode::FORBIDDEN, &[], &body);
    };
    let upstream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            let body = format!("gitops-e2e: cannot reach `{target}` for `{authority}`: {e}\n");
            return http::text(StatusCode::BAD_GATEWAY, &[], &body);
        }
        Err(_) => {
            let body = format!("gitops-e2e: `{target}` for `{authority}` did not answer\n");
            return http::text(StatusCode::BAD_GATEWAY, &[], &body);
        }
    };
    let _ = upstream.set_nodelay(true);
    *tunnel.lock().unwrap_or_else(PoisonError::into_inner) = Some(Tunnel {
        client: hyper::upgrade::on(&mut request),
        upstream,
    });
    let mut established = Response::new(http::Body::default());
    established
        .extensions_mut()
        .insert(ReasonPhrase::from_static(b"Connection established"));
    established
}

/// `host:port` in lower case, or `None` when there is no host or no valid port.
/// IPv6 literals keep their brackets (`[::1]:443`).
fn normalize_authority(authority: &str) -> Option<String> {
    let (host, port) = authority.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|&p| p != 0)?;
    let valid_host = if let Some(inner) = host.strip_prefix('[') {
        inner
            .strip_suffix(']')
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
    } else {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    };
    valid_host.then(|| format!("{}:{port}", host.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    const PROD: &str = "prod-eks-cluster-abc.eks.amazonaws.com:443";

    /// A server that echoes every connection back; its task ends with the test.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    /// An address on which nothing listens.
    async fn closed_port() -> SocketAddr {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        listener.local_addr().unwrap()
    }

    async fn proxy_to(target: SocketAddr) -> ConnectProxy {
        ConnectProxy::start(BTreeMap::from([(PROD.to_string(), target)]))
            .await
            .unwrap()
    }

    /// Sends `request`, returns the response head and the stream.
    async fn ask(proxy: &ConnectProxy, request: &str) -> (String, TcpStream) {
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if s.read(&mut byte).await.unwrap() == 0 {
                break;
            }
            head.push(byte[0]);
        }
        (String::from_utf8(head).unwrap(), s)
    }

    async fn rest(mut s: TcpStream) -> String {
        let mut body = String::new();
        s.read_to_string(&mut body).await.unwrap();
        body
    }

    #[tokio::test]
    async fn tunnels_a_routed_host_to_its_target() {
        let proxy = proxy_to(echo_server().await).await;
        assert!(
            proxy.url().starts_with("http://127.0.0.1:"),
            "{}",
            proxy.url()
        );
        let (head, mut s) = ask(
            &proxy,
            &format!("CONNECT {PROD} HTTP/1.1\r\nHost: {PROD}\r\n\r\n"),
        )
        .await;
        assert_eq!(head, "HTTP/1.1 200 Connection established\r\n\r\n");
        s.write_all(b"hello through the tunnel").await.unwrap();
        let mut buf = [0u8; 24];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello through the tunnel");
        assert!(proxy.refused().is_empty());
    }

    #[tokio::test]
    async fn forwards_bytes_sent_with_the_request_head() {
        let proxy = proxy_to(echo_server().await).await;
        let upper = PROD.to_ascii_uppercase();
        let (head, s) = ask(&proxy, &format!("CONNECT {upper} HTTP/1.1\r\n\r\nearly")).await;
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        let mut s = s;
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"early");
    }

    #[tokio::test]
    async fn refuses_an_unknown_host_and_remembers_it() {
        let proxy = proxy_to(echo_server().await).await;
        for _ in 0..2 {
            let (head, s) = ask(&proxy, "CONNECT github.com:443 HTTP/1.1\r\n\r\n").await;
            assert!(head.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{head}");
            let body = rest(s).await;
            assert_eq!(
                body,
                "gitops-e2e: no route to `github.com:443`; \
                 gitops-e2e only routes the scenario's clusters\n"
            );
        }
        // Same host, other port: also refused, and a different entry.
        let (head, _) = ask(
            &proxy,
            &format!("CONNECT {}80 HTTP/1.1\r\n\r\n", &PROD[..PROD.len() - 3]),
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 403 "), "{head}");
        assert_eq!(
            proxy.refused(),
            [
                "github.com:443",
                "prod-eks-cluster-abc.eks.amazonaws.com:80"
            ]
        );
        let Some(crate::argocd::DiagnosticFile::Text { name, text }) = proxy.refused_file() else {
            panic!("no diagnostics file for refused hosts");
        };
        assert_eq!(name, "proxy-refused.txt");
        assert!(
            text.ends_with("github.com:443\nprod-eks-cluster-abc.eks.amazonaws.com:80\n"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn answers_other_methods_with_405() {
        let proxy = proxy_to(echo_server().await).await;
        let (head, s) = ask(&proxy, "GET http://github.com/ HTTP/1.1\r\n\r\n").await;
        assert!(
            head.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
            "{head}"
        );
        assert!(head.contains("Allow: CONNECT\r\n"), "{head}");
        assert!(rest(s).await.contains("`GET`"));
        assert!(proxy.refused().is_empty());
    }

    #[tokio::test]
    async fn answers_malformed_requests_with_400() {
        let proxy = proxy_to(echo_server().await).await;
        for request in [
            "CONNECT github.com HTTP/1.1\r\n\r\n",
            "CONNECT :443 HTTP/1.1\r\n\r\n",
            "CONNECT a.b:99999 HTTP/1.1\r\n\r\n",
            "hello\r\n\r\n",
        ] {
            let (head, _) = ask(&proxy, request).await;
            assert!(
                head.starts_with("HTTP/1.1 400 Bad Request\r\n"),
                "{request:?}: {head}"
            );
        }
    }

    #[tokio::test]
    async fn answers_502_when_the_target_is_down() {
        let target = closed_port().await;
        let proxy = proxy_to(target).await;
        let (head, s) = ask(&proxy, &format!("CONNECT {PROD} HTTP/1.1\r\n\r\n")).await;
        assert!(head.starts_with("HTTP/1.1 502 Bad Gateway\r\n"), "{head}");
        let body = rest(s).await;
        assert!(
            body.contains(&target.to_string()) && body.contains(PROD),
            "{body}"
        );
    }

    #[tokio::test]
    async fn a_route_without_a_port_is_an_error() {
        let err = ConnectProxy::start(BTreeMap::from([(
            "prod.example.com".to_string(),
            closed_port().await,
        )]))
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "proxy route `prod.example.com` is not `host:port`"
        );
    }

    #[tokio::test]
    async fn stops_listening_and_tunnelling_when_dropped() {
        let proxy = proxy_to(echo_server().await).await;
        let addr = proxy.addr();
        let (head, mut tunnel) = ask(&proxy, &format!("CONNECT {PROD} HTTP/1.1\r\n\r\n")).await;
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        drop(proxy);
        // The tunnel ends: reads see end of file (or a reset).
        let mut buf = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(5), tunnel.read(&mut buf))
            .await
            .expect("the tunnel outlived the proxy");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        // And nobody accepts any more. Abort takes effect when the runtime
        // next polls the task, so allow it a moment.
        let refused = async {
            loop {
                if TcpStream::connect(addr).await.is_err() {
                    break;
                }
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), refused)
            .await
            .expect("the proxy still accepts after drop");
    }

    /// A real client (curl, installed by `make deps`) through the proxy to the
    /// static server: curl sends its own CONNECT head, then HTTP inside the
    /// tunnel.
    #[tokio::test]
    async fn curl_tunnels_through_the_proxy() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.yaml"), "apiVersion: v1\n").unwrap();
        let server = crate::argocd::static_server::StaticServer::start(dir.path())
            .await
            .unwrap();
        let proxy = proxy_to(server.addr()).await;
        let body = crate::process::Cmd::new("curl")
            .args(["-sS", "--fail", "--noproxy", "", "--proxytunnel", "--proxy"])
            .arg(proxy.url())
            .arg(format!("http://{PROD}/index.yaml"))
            .output()
            .await
            .unwrap();
        assert_eq!(body, "apiVersion: v1\n");
        let refused = crate::process::Cmd::new("curl")
            .args(["-sS", "--noproxy", "", "--proxytunnel", "--proxy"])
            .arg(proxy.url())
            .arg("http://github.com:443/")
            .output()
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("403"), "{refused}");
        assert_eq!(proxy.refused(), ["github.com:443"]);
    }

    #[test]
    fn normalizes_authorities() {
        assert_eq!(
            normalize_authority("A.Example:443").as_deref(),
            Some("a.example:443")
        );
        assert_eq!(
            normalize_authority("[::1]:6443").as_deref(),
            Some("[::1]:6443")
        );
        for bad in [
            "a.example",
            "a.example:",
            ":443",
            "a:0",
            "a:x",
            "[::1",
            "a b:1",
            "a/b:1",
        ] {
            assert_eq!(normalize_authority(bad), None, "{bad}");
        }
    }
}
