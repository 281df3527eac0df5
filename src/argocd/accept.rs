//! The accept loop behind the loopback servers (the CONNECT proxy, the static
//! file server): listen on `127.0.0.1`, serve each connection on its own task,
//! stop everything when dropped.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// How long to wait after a failed accept (out of file descriptors and the
/// like) before the next, instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// A listener on `127.0.0.1` whose connections are served on their own
/// tasks. Dropping it stops the listener and aborts every open connection.
#[derive(Debug)]
pub(crate) struct AcceptLoop {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl AcceptLoop {
    /// Listens on a free port of `127.0.0.1` and hands each connection to
    /// `serve`.
    pub(crate) async fn loopback<F, Fut>(serve: F) -> std::io::Result<AcceptLoop>
    where
        F: FnMut(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self::bind(IpAddr::V4(Ipv4Addr::LOCALHOST), serve).await
    }

    /// Listens on a free port of `ip` (an address of this machine) and hands
    /// each connection to `serve`.
    pub(crate) async fn bind<F, Fut>(ip: IpAddr, serve: F) -> std::io::Result<AcceptLoop>
    where
        F: FnMut(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind((ip, 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(run(listener, serve));
        Ok(AcceptLoop { addr, task })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for AcceptLoop {
    fn drop(&mut self) {
        // The task owns the listener and the JoinSet of connections;
        // dropping the JoinSet aborts them all.
        self.task.abort();
    }
}

async fn run<F, Fut>(listener: TcpListener, mut serve: F)
where
    F: FnMut(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve(stream));
                }
                Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
            },
            // Reap finished connections so the set does not grow for the whole run.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn serves_each_connection_and_stops_when_dropped() {
        let server = AcceptLoop::loopback(|mut stream: TcpStream| async move {
            let _ = stream.write_all(b"hi").await;
        })
        .await
        .unwrap();
        let addr = server.addr();
        for _ in 0..2 {
            let mut client = TcpStream::connect(addr).await.unwrap();
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"hi");
        }
        drop(server);
        let refused = async {
            while TcpStream::connect(addr).await.is_ok() {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), refused)
            .await
            .expect("still accepting after drop");
    }
}
