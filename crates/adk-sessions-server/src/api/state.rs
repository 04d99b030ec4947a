//! The scoped state a session view merges: `GET /apps/{app_name}/users/{user_id}/state`
//! (the `user:` keys, without prefix) and `GET /apps/{app_name}/state` (the `app:` keys).

use axum::extract::State;
use axum::Json;
use serde_json::Value;

use super::errors::ApiError;
use super::json::Ids;
use super::AppState;

/// The user-scoped state of one user of an app.
pub async fn user_state(State(st): State<AppState>, ids: Ids) -> Result<Json<Value>, ApiError> {
    let state = st.service.get_user_state(&ids.app, ids.user()).await?;
    Ok(Json(Value::Object(state)))
}

/// The app-scoped state of an app.
pub async fn app_state(State(st): State<AppState>, ids: Ids) -> Result<Json<Value>, ApiError> {
    let state = st.service.get_app_state(&ids.app).await?;
    Ok(Json(Value::Object(state)))
}
