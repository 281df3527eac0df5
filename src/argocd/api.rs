//! argocd-server's REST API, for what only it can answer: Argo CD's own
//! generation of an ApplicationSet, and managed resources with their diffs.
//! The local server runs with authentication disabled on loopback.

use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("argocd-server request `{what}` failed")]
    Transport {
        what: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("argocd-server answered `{what}` with {status} and a body that is not JSON: {start}")]
    Body {
        what: String,
        status: u16,
        /// The first characters of the body, for the reader.
        start: String,
    },
    #[error("argocd-server answered `{what}` with {status}: {message}")]
    Status {
        what: String,
        status: u16,
        message: String,
    },
}

pub struct ArgoApi {
    base: String,
    http: reqwest::Client,
    token: Option<SecretString>,
}

/// Where argocd-server's API is and how to authenticate to it.
#[derive(Debug, Clone)]
pub struct ApiAccess {
    /// Its base URL, e.g. `http://127.0.0.1:PORT`.
    pub url: String,
    /// A session token; `None` where the server runs without authentication.
    pub token: Option<SecretString>,
}

impl ApiAccess {
    /// An API without authentication (the local server).
    pub fn open(url: impl Into<String>) -> Self {
        ApiAccess {
            url: url.into(),
            token: None,
        }
    }
}

impl ArgoApi {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap_or_default(),
            token: None,
        }
    }

    /// The API at `access`, with its token if it has one.
    pub fn with_access(access: &ApiAccess) -> Self {
        let mut api = Self::new(&access.url);
        api.token = access.token.clone();
        api
    }

    /// `POST /api/v1/session`: a session token for `username`.
    pub async fn login(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<SecretString, ApiError> {
        let url = format!("{}/api/v1/session", self.base);
        let body = json!({"username": username, "password": password.expose_secret()});
        let reply = self.send("login", self.http.post(url).json(&body)).await?;
        match reply.get("token").and_then(Value::as_str) {
            Some(token) if !token.is_empty() => Ok(SecretString::from(token.to_string())),
            _ => Err(ApiError::Body {
                what: "login".into(),
                status: 200,
                start: "(no token in the reply)".into(),
            }),
        }
    }

    async fn send(&self, what: &str, req: reqwest::RequestBuilder) -> Result<Value, ApiError> {
        let transport = |source| ApiError::Transport {
            what: what.to_string(),
            source,
        };
        let req = match &self.token {
            Some(token) => req.bearer_auth(token.expose_secret()),
            None => req,
        };
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(transport)?;
        let body: Value = match serde_json::from_slice(&bytes) {
            Ok(body) => body,
            // An error answer may be plain text; a success must be JSON.
            Err(_) if !status.is_success() => {
                Value::String(String::from_utf8_lossy(&bytes).trim().to_string())
            }
            Err(_) => {
                return Err(ApiError::Body {
                    what: what.to_string(),
                    status: status.as_u16(),
                    start: String::from_utf8_lossy(&bytes).chars().take(80).collect(),
                });
            }
        };
        if status.is_success() {
            Ok(body)
        } else {
            Err(ApiError::Status {
                what: what.to_string(),
                status: status.as_u16(),
                message: body
                    .get("message")
                    .or_else(|| body.get("error"))
                    .or(Some(&body))
                    .and_then(Value::as_str)
                    .filter(|m| !m.is_empty())
                    .unwrap_or("(no message)")
                    .to_string(),
            })
        }
    }

    /// `GET /api/version`: the server's version (`Version`, e.g.
    /// `v3.5.3+0123abc`).
    pub async fn version(&self) -> Result<String, ApiError> {
        let url = format!("{}/api/version", self.base);
        let body = self.send("version", self.http.get(url)).await?;
        match body.get("Version").and_then(Value::as_str) {
            Some(v) if !v.is_empty() => Ok(v.to_string()),
            _ => Err(ApiError::Body {
                what: "version".into(),
                status: 200,
                start: body.to_string().chars().take(80).collect(),
            }),
        }
    }

    /// `POST /api/v1/applicationsets/generate`: the Applications Argo CD
    /// itself generates for `appset`, without creating anything.
    pub async fn generate(&self, appset: &Value) -> Result<Vec<Value>, ApiError> {
        let url = format!("{}/api/v1/applicationsets/generate", self.base);
        let body = self
            .send(
                "generate",
                self.http.post(url).json(&json!({"applicationSet": appset})),
            )
            .await?;
        // Go omits an empty list: no `applications` is none generated; one
        // that is not a list is a reply this client does not understand.
        match body.get("applications") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(apps)) => Ok(apps.clone()),
            Some(_) => Err(ApiError::Body {
                what: "generate".into(),
                status: 200,
                start: body.to_string().chars().take(80).collect(),
            }),
        }
    }

    /// `GET /api/v1/applications/{name}/managed-resources`.
    pub async fn managed_resources(&self, app: &str, namespace: &str) -> Result<Value, ApiError> {
        let url = format!(
            "{}/api/v1/applications/{app}/managed-resources?appNamespace={namespace}",
            self.base
        );
        self.send(&format!("managed-resources of `{app}`"), self.http.get(url))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server on loopback that answers every request with `response`.
    async fn answering(response: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(response.as_bytes()).await;
                let _ = s.shutdown().await;
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn a_success_whose_body_is_not_json_is_an_error_not_zero_applications() {
        let base = answering(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 15\r\nConnection: close\r\n\r\n<html>hi</html>",
        )
        .await;
        let err = ArgoApi::new(&base)
            .generate(&json!({}))
            .await
            .expect_err("not JSON");
        assert!(matches!(err, ApiError::Body { status: 200, .. }), "{err}");
        assert!(err.to_string().contains("<html>hi</html>"), "{err}");
    }

    #[tokio::test]
    async fn an_error_answer_in_plain_text_keeps_its_message() {
        let base = answering(
            "HTTP/1.1 400 Bad Request\r\nContent-Length: 12\r\nConnection: close\r\n\r\nbad template",
        )
        .await;
        let err = ArgoApi::new(&base).generate(&json!({})).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "argocd-server answered `generate` with 400: bad template"
        );
    }

    #[tokio::test]
    async fn the_version_is_read_and_a_reply_without_one_is_an_error() {
        let base = answering(
            "HTTP/1.1 200 OK\r\nContent-Length: 28\r\nConnection: close\r\n\r\n{\"Version\":\"v3.5.3+0123abc\"}",
        )
        .await;
        assert_eq!(
            ArgoApi::new(&base).version().await.unwrap(),
            "v3.5.3+0123abc"
        );
        let base =
            answering("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}").await;
        let err = ArgoApi::new(&base).version().await.unwrap_err();
        assert!(matches!(err, ApiError::Body { .. }), "{err}");
    }

    #[tokio::test]
    async fn no_applications_field_is_none_generated() {
        let base =
            answering("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}").await;
        assert!(
            ArgoApi::new(&base)
                .generate(&json!({}))
                .await
                .unwrap()
                .is_empty()
        );
    }
}
