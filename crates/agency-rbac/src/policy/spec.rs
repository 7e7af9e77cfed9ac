//! The policy as data: the document form read from and written to TOML or JSON.
//!
//! A [`PolicySpec`] is only a description; [`Policy::compile`](crate::Policy::compile) validates
//! it (names, inheritance, levels) and turns it into the form checks run against. Unknown
//! fields are refused rather than ignored, so a typo such as `inherit = [...]` cannot silently
//! drop a rule, and a role defined twice in a JSON document is refused rather than overwritten.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::PolicyError;

/// A policy document: the permissions it declares and its roles, by name.
///
/// ```
/// use agency_rbac::PolicySpec;
///
/// let spec = PolicySpec::from_toml(r#"
///     [roles.viewer]
///     permissions = ["agents:read"]
///
///     [roles.operator]
///     inherits = ["viewer"]
///     permissions = ["tasks:dispatch"]
///     own_permissions = ["keys:manage"]
/// "#)?;
/// assert_eq!(spec.roles["operator"].inherits, ["viewer"]);
/// let policy = spec.compile()?;
/// assert!(policy.role_holds("operator", "agents:read"));
/// # Ok::<(), agency_rbac::PolicyError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// Permissions that exist even though no role holds them (checks of them are then denied
    /// with `missing_permission` rather than `unknown_permission`). Permissions granted by a
    /// role need not be listed here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
    /// The roles, by name.
    #[serde(default, deserialize_with = "unique_roles")]
    pub roles: BTreeMap<String, RoleSpec>,
}

/// One role of a [`PolicySpec`].
///
/// ```
/// use agency_rbac::RoleSpec;
///
/// let role = RoleSpec { level: Some(60), inherits: vec!["user".into()], ..RoleSpec::default() };
/// assert!(role.permissions.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    /// Optional rank; when two related roles both have one, the inheriting role must rank
    /// strictly higher. The assignment guard also compares levels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<u32>,
    /// Roles whose permissions (and cross-tenant grant) this role also holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inherits: Vec<String>,
    /// Permissions held on any resource (of the subject's tenant).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
    /// Permissions held only on resources the subject owns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub own_permissions: Vec<String>,
    /// The explicit grant to act in any tenant.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cross_tenant: bool,
}

impl PolicySpec {
    /// Parses a TOML policy document (not yet validated; see [`PolicySpec::compile`]).
    ///
    /// ```
    /// let spec = agency_rbac::PolicySpec::from_toml("[roles.viewer]\npermissions = [\"a:b\"]\n")?;
    /// assert_eq!(spec.roles.len(), 1);
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn from_toml(document: &str) -> Result<Self, PolicyError> {
        toml::from_str(document).map_err(|e| PolicyError::Parse {
            format: "TOML",
            message: e.to_string(),
        })
    }

    /// Parses a JSON policy document (not yet validated; see [`PolicySpec::compile`]).
    ///
    /// ```
    /// let spec = agency_rbac::PolicySpec::from_json(r#"{"roles": {"viewer": {"permissions": ["a:b"]}}}"#)?;
    /// assert_eq!(spec.roles["viewer"].permissions, ["a:b"]);
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn from_json(document: &str) -> Result<Self, PolicyError> {
        serde_json::from_str(document).map_err(|e| PolicyError::Parse {
            format: "JSON",
            message: e.to_string(),
        })
    }

    /// Writes this document as TOML.
    ///
    /// ```
    /// let spec = agency_rbac::PolicySpec::from_json(r#"{"roles": {"viewer": {"permissions": ["a:b"]}}}"#)?;
    /// assert_eq!(spec.to_toml()?, "[roles.viewer]\npermissions = [\"a:b\"]\n");
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn to_toml(&self) -> Result<String, PolicyError> {
        toml::to_string(self).map_err(|e| PolicyError::Serialize {
            format: "TOML",
            message: e.to_string(),
        })
    }

    /// Writes this document as pretty-printed JSON.
    ///
    /// ```
    /// let spec = agency_rbac::PolicySpec::from_toml("[roles.viewer]\n")?;
    /// assert!(spec.to_json()?.contains("\"viewer\""));
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn to_json(&self) -> Result<String, PolicyError> {
        serde_json::to_string_pretty(self).map_err(|e| PolicyError::Serialize {
            format: "JSON",
            message: e.to_string(),
        })
    }

    /// Validates and compiles this document; same as [`Policy::compile`](crate::Policy::compile).
    ///
    /// ```
    /// let policy = agency_rbac::PolicySpec::default().compile()?;
    /// assert_eq!(policy.roles().count(), 0);
    /// # Ok::<(), agency_rbac::PolicyError>(())
    /// ```
    pub fn compile(&self) -> Result<crate::Policy, PolicyError> {
        crate::Policy::compile(self)
    }
}

/// Deserialises the role map, refusing a role defined twice (JSON allows duplicate keys and
/// would otherwise keep only the last definition).
fn unique_roles<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, RoleSpec>, D::Error> {
    struct Roles;

    impl<'de> Visitor<'de> for Roles {
        type Value = BTreeMap<String, RoleSpec>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of role names to roles")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut roles = BTreeMap::new();
            while let Some((name, role)) = map.next_entry::<String, RoleSpec>()? {
                if roles.contains_key(&name) {
                    return Err(serde::de::Error::custom(format_args!(
                        "role {:?} is defined twice",
                        crate::permission::excerpt(&name)
                    )));
                }
                roles.insert(name, role);
            }
            Ok(roles)
        }
    }

    deserializer.deserialize_map(Roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_is_refused_not_ignored() {
        let err = PolicySpec::from_toml("[roles.admin]\ninherit = [\"viewer\"]\n").unwrap_err();
        assert!(
            matches!(err, PolicyError::Parse { format: "TOML", .. }),
            "{err}"
        );
        assert!(err.to_string().contains("inherit"), "{err}");
        assert!(PolicySpec::from_json(r#"{"rolez": {}}"#).is_err());
    }

    #[test]
    fn role_defined_twice_in_json_is_refused() {
        let doc =
            r#"{"roles": {"admin": {"permissions": ["a:b"]}, "admin": {"cross_tenant": true}}}"#;
        let err = PolicySpec::from_json(doc).unwrap_err();
        assert!(err.to_string().contains("defined twice"), "{err}");
    }

    #[test]
    fn role_defined_twice_in_toml_is_refused() {
        assert!(PolicySpec::from_toml("[roles.admin]\n[roles.admin]\n").is_err());
    }

    #[test]
    fn negative_level_is_refused() {
        assert!(PolicySpec::from_toml("[roles.admin]\nlevel = -1\n").is_err());
    }

    #[test]
    fn cross_tenant_must_be_a_boolean() {
        assert!(PolicySpec::from_toml("[roles.admin]\ncross_tenant = \"yes\"\n").is_err());
    }

    #[test]
    fn toml_writes_values_before_tables() {
        let mut spec = PolicySpec {
            permissions: vec!["x:y".into()],
            ..PolicySpec::default()
        };
        spec.roles.insert(
            "viewer".into(),
            RoleSpec {
                cross_tenant: true,
                ..RoleSpec::default()
            },
        );
        let text = spec.to_toml().unwrap();
        assert_eq!(PolicySpec::from_toml(&text).unwrap(), spec);
    }
}
