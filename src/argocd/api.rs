//! argocd-server's REST API, for what only it can answer: Argo CD's own
//! generation of an ApplicationSet, and managed resources with their diffs.
//! The local server runs with authentication disabled on loopback.

use std::time::Duration;

use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("argocd-server request `{what}` failed")]
    Transport {
        what: String,
        #[source]
        source: reqwest::Error,
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
}

impl ArgoApi {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap_or_default(),
        }
    }

    async fn send(&self, what: &str, req: reqwest::RequestBuilder) -> Result<Value, ApiError> {
        let transport = |source| ApiError::Transport {
            what: what.to_string(),
            source,
        };
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(body)
        } else {
            Err(ApiError::Status {
                what: what.to_string(),
                status: status.as_u16(),
                message: body
                    .get("message")
                    .or_else(|| body.get("error"))
                    .and_then(Value::as_str)
                    .unwrap_or("(no message)")
                    .to_string(),
            })
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
        Ok(body
            .get("applications")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
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
