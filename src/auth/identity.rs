//! Who the caller is: Supabase's access-token claims, parsed, and the role they give.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// The claims Supabase Auth puts in an access token.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Claims {
    pub sub: Uuid,
    pub exp: i64,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub role: Option<String>,
    /// Authenticator assurance level: `aal1`, or `aal2` after MFA.
    #[serde(default)]
    pub aal: Option<String>,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub is_anonymous: bool,
    #[serde(default)]
    pub app_metadata: Map<String, Value>,
    #[serde(default)]
    pub user_metadata: Map<String, Value>,
    /// Authentication methods used (`[{method, timestamp}]`).
    #[serde(default)]
    pub amr: Vec<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A signed-in user (anonymous sign-ins included).
    Authenticated,
    /// A user whose `app_metadata.role` (or `app_metadata.roles`) says `admin`.
    Admin,
    /// An operator's token with `role: service_role`.
    ServiceRole,
}

impl Role {
    /// The role a verified token gives, or `None` for roles no caller may have (`anon`).
    pub fn of(claims: &Claims) -> Option<Role> {
        match claims.role.as_deref() {
            Some("service_role") => Some(Role::ServiceRole),
            Some("authenticated") | None => {
                let meta = &claims.app_metadata;
                let admin = meta.get("role").and_then(Value::as_str) == Some("admin")
                    || meta
                        .get("roles")
                        .and_then(Value::as_array)
                        .is_some_and(|roles| roles.iter().any(|r| r.as_str() == Some("admin")));
                Some(if admin {
                    Role::Admin
                } else {
                    Role::Authenticated
                })
            }
            Some(_) => None,
        }
    }

    pub fn is_admin(self) -> bool {
        matches!(self, Role::Admin | Role::ServiceRole)
    }
}

/// A caller whose token was verified.
#[derive(Debug, Clone)]
pub struct Identity {
    pub id: Uuid,
    pub role: Role,
    pub claims: Claims,
    /// The token's claims as sent, for `request.jwt.claims` (RLS), as PostgREST does:
    /// JSON text, rendered once per verified token (the verified-token cache keeps it)
    /// rather than on every request that sends them to Postgres.
    pub claims_json: std::sync::Arc<str>,
}

impl Identity {
    pub fn email(&self) -> Option<&str> {
        self.claims.email.as_deref().filter(|e| !e.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Claims {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn roles_come_from_the_role_claim_and_app_metadata() {
        let sub = Uuid::new_v4();
        let base = |extra: Value| {
            let mut v = json!({"sub": sub, "exp": 1, "role": "authenticated"});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            claims(v)
        };
        assert_eq!(Role::of(&base(json!({}))), Some(Role::Authenticated));
        assert_eq!(
            Role::of(&base(json!({"app_metadata": {"role": "admin"}}))),
            Some(Role::Admin)
        );
        assert_eq!(
            Role::of(&base(
                json!({"app_metadata": {"roles": ["editor", "admin"]}})
            )),
            Some(Role::Admin)
        );
        assert_eq!(
            Role::of(&base(json!({"role": "service_role"}))),
            Some(Role::ServiceRole)
        );
        assert_eq!(Role::of(&base(json!({"role": "anon"}))), None);
        // user_metadata is editable by the user: it never grants anything.
        assert_eq!(
            Role::of(&base(json!({"user_metadata": {"role": "admin"}}))),
            Some(Role::Authenticated)
        );
    }
}
