//! Port-forwards through the API server (kube-rs, no `kubectl`): a loopback
//! port whose every connection is tunnelled to a Ready pod chosen by a label
//! selector. How the harness reaches Argo CD's API in a cluster, and how
//! step 5 probes an application's pods, without exposing any port.

use std::net::SocketAddr;
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
        let pods: Api<Pod> = Api::namespaced(client, namespace);
        let selector = selector.to_string();
        let connections = AcceptLoop::loopback(move |conn| {
            let pods = pods.clone();
            let selector = selector.clone();
            async move {
                let _ = tunnel(conn, &pods, &selector, port).await;
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

async fn tunnel(
    mut conn: TcpStream,
    pods: &Api<Pod>,
    selector: &str,
    port: u16,
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
    let _ = tokio::io::copy_bidirectional(&mut conn, &mut stream).await;
    drop(stream);
    let _ = tokio::time::timeout(Duration::from_secs(5), forwarder.join()).await;
    Ok(())
}
