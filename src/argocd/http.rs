//! Just enough HTTP/1.1 for the loopback servers here: read a request head
//! (bounded in size and time) and write a response head. Every response
//! closes the connection, so there is no keep-alive or chunking to get wrong.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest request head accepted; real clients send a few hundred bytes.
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// How long a client may take to send its request head.
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// The request line of a request; headers are read and ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub method: String,
    pub target: String,
}

#[derive(Debug)]
pub(crate) enum HeadError {
    /// The client closed the connection before a complete head.
    Closed,
    TooLarge,
    Timeout,
    Malformed,
    Io,
}

impl HeadError {
    /// The response to send, if any is worth sending.
    pub(crate) fn status(&self) -> Option<(u16, &'static str)> {
        match self {
            HeadError::Closed | HeadError::Io => None,
            HeadError::TooLarge => Some((431, "Request Header Fields Too Large")),
            HeadError::Timeout => Some((408, "Request Timeout")),
            HeadError::Malformed => Some((400, "Bad Request")),
        }
    }
}

/// Reads a request head. Returns the request line and the bytes the client
/// sent after the head (a tunnel's first bytes, for instance).
pub(crate) async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<(Request, Vec<u8>), HeadError> {
    let (head, rest) = tokio::time::timeout(HEAD_TIMEOUT, read_head(stream))
        .await
        .map_err(|_| HeadError::Timeout)??;
    let request = parse_request_line(&head).ok_or(HeadError::Malformed)?;
    Ok((request, rest))
}

async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Result<(Vec<u8>, Vec<u8>), HeadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|_| HeadError::Io)?;
        if n == 0 {
            return Err(HeadError::Closed);
        }
        // Search from just before the new bytes: the terminator may straddle reads.
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = head_end(&buf[from..]).map(|e| e + from) {
            if end > MAX_HEAD {
                return Err(HeadError::TooLarge);
            }
            let rest = buf.split_off(end);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEAD {
            return Err(HeadError::TooLarge);
        }
    }
}

/// The index just past the blank line that ends a head (CRLF or bare LF).
fn head_end(buf: &[u8]) -> Option<usize> {
    (0..buf.len()).find_map(|i| {
        if buf[i..].starts_with(b"\r\n\r\n") {
            Some(i + 4)
        } else if buf[i..].starts_with(b"\n\n") {
            Some(i + 2)
        } else if buf[i..].starts_with(b"\n\r\n") {
            Some(i + 3)
        } else {
            None
        }
    })
}

/// `METHOD target HTTP/1.x`, ASCII, exactly three parts.
fn parse_request_line(head: &[u8]) -> Option<Request> {
    let line_end = head.iter().position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&head[..line_end]).ok()?;
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
        || target.is_empty()
        || !target.bytes().all(|b| b.is_ascii_graphic())
        || !version.starts_with("HTTP/1.")
    {
        return None;
    }
    Some(Request {
        method: method.to_string(),
        target: target.to_string(),
    })
}

/// A response head; `Connection: close` is always added.
pub(crate) fn response_head(
    status: u16,
    reason: &str,
    headers: &[(&str, &str)],
    content_length: u64,
) -> String {
    let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {content_length}\r\nConnection: close\r\n\r\n"
    ));
    head
}

/// Sends a complete plain-text response. Write errors are ignored: the client
/// is gone and there is nobody left to tell.
pub(crate) async fn respond_text<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    reason: &str,
    extra: &[(&str, &str)],
    body: &str,
) {
    let mut headers = vec![("Content-Type", "text/plain; charset=utf-8")];
    headers.extend_from_slice(extra);
    let head = response_head(status, reason, &headers, body.len() as u64);
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(bytes: &[u8]) -> Result<(Request, Vec<u8>), HeadError> {
        let mut input = bytes;
        read_request(&mut input).await
    }

    #[tokio::test]
    async fn reads_the_request_line_and_keeps_what_follows() {
        let (req, rest) =
            read(b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n\x16\x03")
                .await
                .unwrap();
        assert_eq!(req.method, "CONNECT");
        assert_eq!(req.target, "a.example:443");
        assert_eq!(rest, b"\x16\x03");
    }

    #[tokio::test]
    async fn accepts_bare_line_feeds() {
        let (req, rest) = read(b"GET /index.yaml HTTP/1.0\n\n").await.unwrap();
        assert_eq!(req.target, "/index.yaml");
        assert!(rest.is_empty());
    }

    #[tokio::test]
    async fn rejects_malformed_lines() {
        for bad in [
            &b"GET /\r\n\r\n"[..],
            b"GET / HTTP/2\r\n\r\n",
            b"get / HTTP/1.1\r\n\r\n",
            b"GET /a b HTTP/1.1\r\n\r\n",
            b"GET  / HTTP/1.1\r\n\r\n",
            b"\xff\xfe / HTTP/1.1\r\n\r\n",
            b"\r\n\r\n",
        ] {
            assert!(
                matches!(read(bad).await, Err(HeadError::Malformed)),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[tokio::test]
    async fn bounds_the_head() {
        let mut big = b"GET / HTTP/1.1\r\n".to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_HEAD + 10));
        assert!(matches!(read(&big).await, Err(HeadError::TooLarge)));
        big.extend_from_slice(b"\r\n\r\n");
        assert!(matches!(read(&big).await, Err(HeadError::TooLarge)));
    }

    #[tokio::test]
    async fn a_closed_connection_is_not_a_request() {
        assert!(matches!(read(b"GET / HTT").await, Err(HeadError::Closed)));
    }

    #[test]
    fn finds_a_terminator_split_across_reads() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\n"), Some(18));
        assert_eq!(head_end(b"x\r\n"), None);
    }
}
