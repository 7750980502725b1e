//! The CLI's side of the control plane API: a small typed client over HTTP with the operator
//! token.

use anyhow::{bail, Context};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::model::CreateRequest;

/// A client of one control plane.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base: &str, token: &str) -> anyhow::Result<Client> {
        Ok(Client {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()?,
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| {
                format!(
                    "reach the control plane at {} (is `mono serve` running?)",
                    self.base
                )
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or(text);
        bail!("{message} ({status})")
    }

    async fn json<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<T> {
        Ok(self.send(request).await?.json().await?)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn create(&self, request: &CreateRequest) -> anyhow::Result<Value> {
        self.json(self.http.post(self.url("/v1/cooperatives")).json(request))
            .await
    }

    pub async fn list(&self) -> anyhow::Result<Vec<Value>> {
        self.json(self.http.get(self.url("/v1/cooperatives"))).await
    }

    pub async fn show(&self, coop: &str) -> anyhow::Result<Value> {
        self.json(self.http.get(self.url(&format!("/v1/cooperatives/{coop}"))))
            .await
    }

    pub async fn secrets(&self, coop: &str) -> anyhow::Result<Value> {
        self.json(
            self.http
                .get(self.url(&format!("/v1/cooperatives/{coop}/secrets"))),
        )
        .await
    }

    /// `suspend`, `resume`, `restart`.
    pub async fn action(&self, coop: &str, action: &str) -> anyhow::Result<Value> {
        self.json(
            self.http
                .post(self.url(&format!("/v1/cooperatives/{coop}/{action}"))),
        )
        .await
    }

    pub async fn delete(&self, coop: &str) -> anyhow::Result<Value> {
        self.json(
            self.http
                .delete(self.url(&format!("/v1/cooperatives/{coop}"))),
        )
        .await
    }

    pub async fn logs(&self, coop: &str, lines: usize) -> anyhow::Result<String> {
        Ok(self
            .send(
                self.http
                    .get(self.url(&format!("/v1/cooperatives/{coop}/logs?lines={lines}"))),
            )
            .await?
            .text()
            .await?)
    }
}
