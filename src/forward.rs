//! Port-forwards through the API server (kube-rs, no `kubectl`): a loopback
//! port whose every connection is tunnelled to a Ready pod chosen by a label
//! selector. How the harness reaches Argo CD's API in a cluster, and how
//! step 5 probes an application's pods, without exposing any port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use tokio::net::TcpStream;

use crate::argocd::accept::AcceptLoop;

/// How long opening one tunnel may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(20);

/// A running forward. Dropping it stops the listener and every tunnel.
#[derive(Debug)]
pub struct Forward {
    connections: AcceptLoop,
}

impl Forward {
    /// Listens on a free loopback port; each connection goes to `port` of a
    /// Ready pod in `namespace` matching `selector` (chosen per connection,
    /// so a restarted pod is followed).
    pub async fn to_pods(
        client: kube::Client,
        namespace: &str,
        selector: &str,
        port: u16,
    ) -> std::io::Result<Forward> {
        Self::to_pods_over(client, namespace, selector, port, Wire::Plain).await
    }

    /// Like [`Forward::to_pods`]; with [`Wire::Tls`] each tunnel speaks TLS
    /// to the pod, so that a plain-HTTP client on the loopback port reaches
    /// a server that serves HTTPS only.
    pub async fn to_pods_over(
        client: kube::Client,
        namespace: &str,
        selector: &str,
        port: u16,
        wire: Wire,
    ) -> std::io::Result<Forward> {
        let pods: Api<Pod> = Api::namespaced(client, namespace);
        let selector = selector.to_string();
        let connections = AcceptLoop::loopback(move |conn| {
            let pods = pods.clone();
            let selector = selector.clone();
            let wire = wire.clone();
            async move {
                let _ = tunnel(conn, &pods, &selector, port, &wire).await;
            }
        })
        .await?;
        Ok(Forward { connections })
    }

    pub fn addr(&self) -> SocketAddr {
        self.connections.addr()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }
}

/// What a forward speaks to the pod.
#[derive(Clone)]
pub enum Wire {
    /// The client's bytes as they are.
    Plain,
    /// TLS with this configuration, the client's bytes inside it.
    Tls(Arc<rustls::ClientConfig>),
}

/// The name a [`Wire::Tls`] tunnel sends as SNI. The configurations here do
/// not check names ([`tunnelled_tls`]), so it only has to be a valid name.
const TLS_NAME: &str = "localhost";

async fn tunnel(
    mut conn: TcpStream,
    pods: &Api<Pod>,
    selector: &str,
    port: u16,
    wire: &Wire,
) -> anyhow::Result<()> {
    let open = async {
        let pod = crate::pods::ready_pod(pods, selector).await?;
        let mut forwarder = pods.portforward(&pod, &[port]).await?;
        let stream = forwarder
            .take_stream(port)
            .ok_or_else(|| anyhow::anyhow!("no stream for port {port} of pod `{pod}`"))?;
        anyhow::Ok((forwarder, stream))
    };
    let (forwarder, mut stream) = tokio::time::timeout(OPEN_TIMEOUT, open).await??;
    match wire {
        Wire::Plain => {
            let _ = tokio::io::copy_bidirectional(&mut conn, &mut stream).await;
            drop(stream);
        }
        Wire::Tls(config) => {
            let name = rustls::pki_types::ServerName::try_from(TLS_NAME)?;
            let connector = tokio_rustls::TlsConnector::from(config.clone());
            let mut tls =
                tokio::time::timeout(OPEN_TIMEOUT, connector.connect(name, stream)).await??;
            let _ = tokio::io::copy_bidirectional(&mut conn, &mut tls).await;
            drop(tls);
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), forwarder.join()).await;
    Ok(())
}

/// Whether a Ready pod matching `selector` completes a TLS handshake on
/// `port` with `config`: `false` when it answers otherwise (a server that
/// speaks plain HTTP), an error when no tunnel opens.
pub async fn speaks_tls(
    client: kube::Client,
    namespace: &str,
    selector: &str,
    port: u16,
    config: Arc<rustls::ClientConfig>,
) -> anyhow::Result<bool> {
    let pods: Api<Pod> = Api::namespaced(client, namespace);
    let open = async {
        let pod = crate::pods::ready_pod(&pods, selector).await?;
        let mut forwarder = pods.portforward(&pod, &[port]).await?;
        let stream = forwarder
            .take_stream(port)
            .ok_or_else(|| anyhow::anyhow!("no stream for port {port} of pod `{pod}`"))?;
        anyhow::Ok((forwarder, stream))
    };
    let (forwarder, stream) = tokio::time::timeout(OPEN_TIMEOUT, open).await??;
    let name = rustls::pki_types::ServerName::try_from(TLS_NAME)?;
    let handshake = tokio_rustls::TlsConnector::from(config).connect(name, stream);
    let tls = matches!(
        tokio::time::timeout(OPEN_TIMEOUT, handshake).await,
        Ok(Ok(_))
    );
    let _ = tokio::time::timeout(Duration::from_secs(5), forwarder.join()).await;
    Ok(tls)
}

/// A TLS client configuration for a server reached only through a
/// port-forward, whose certificate nobody here can check: argocd-server
/// serves a certificate it generated itself unless its operators gave it
/// one, and no CA of this machine signed either.
///
/// Accepting that certificate unchecked is sound here because of what
/// carries the bytes: the tunnel is the kube API connection, authenticated
/// and encrypted with the kubeconfig's credentials and CA, and it ends in
/// the pod the API server names. Nobody can stand between this process and
/// that pod without the API server's cooperation. TLS inside it is what the
/// server insists on, not what protects the traffic. The handshake's
/// signatures are still verified, and the configuration serves only the
/// tunnels of [`Wire::Tls`]; no other client of the harness skips
/// verification.
pub fn tunnelled_tls() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(TunnelledServer(provider.clone()));
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // argocd-server multiplexes gRPC (HTTP/2) and HTTP/1.1 on one port; the
    // loopback clients speak HTTP/1.1.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The verifier of [`tunnelled_tls`]: any certificate, checked signatures.
#[derive(Debug)]
struct TunnelledServer(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for TunnelledServer {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
