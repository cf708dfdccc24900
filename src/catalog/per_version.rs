//! A value derived from one catalog version, rebuilt once when the version changes.

use std::sync::Arc;

use crate::error::ApiResult;

/// A value derived from one catalog version (the vision prompt, the machines by id),
/// rebuilt when the version changes, once, by whichever request asks first.
pub struct PerVersion<T> {
    current: std::sync::RwLock<Option<(i64, Arc<T>)>>,
    rebuild: tokio::sync::Mutex<()>,
}

impl<T> Default for PerVersion<T> {
    fn default() -> Self {
        PerVersion {
            current: std::sync::RwLock::new(None),
            rebuild: tokio::sync::Mutex::new(()),
        }
    }
}

impl<T> PerVersion<T> {
    fn peek(&self, version: i64) -> Option<Arc<T>> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current
            .as_ref()
            .filter(|(built_for, _)| *built_for == version)
            .map(|(_, value)| value.clone())
    }

    /// The value for `version`, built with `build` when there is none yet.
    pub async fn get(
        &self,
        version: i64,
        build: impl AsyncFnOnce() -> ApiResult<T>,
    ) -> ApiResult<Arc<T>> {
        if let Some(value) = self.peek(version) {
            return Ok(value);
        }
        let _single_flight = self.rebuild.lock().await;
        if let Some(value) = self.peek(version) {
            return Ok(value);
        }
        let value = Arc::new(build().await?);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some((version, value.clone()));
        Ok(value)
    }
}
