//! The request an event belongs to: [`AuditContext`], passed explicitly (no task-local magic),
//! so an event recorded by a task the request spawned carries the same request id, client and
//! actor as long as the task was handed the context.

use std::net::IpAddr;

use crate::event::{ActorKind, AuditEvent};

/// What the request that causes events knows about itself: request id, client address, user
/// agent, actor and tenant. [`AuditWriter::record_in`](crate::AuditWriter::record_in) and
/// [`record_durable_in`](crate::AuditWriter::record_durable_in) fill each of these into the event
/// **only where the event leaves it unset**: an event that names its own actor (a webhook's
/// source, say) keeps it. Redaction runs after, as for every event.
///
/// Cheap to clone; clone it into the tasks a request spawns.
///
/// ```
/// use agency_audit::{ActorKind, AuditContext, AuditEvent};
/// let ctx = AuditContext::new()
///     .request_id("req-7")
///     .client_ip("203.0.113.9".parse().unwrap())
///     .user_agent("curl/8.5")
///     .actor(ActorKind::User, "u-1", "alice")
///     .tenant("acme");
/// let mut event = AuditEvent::builder("agent.create").build();
/// ctx.apply(&mut event);
/// assert_eq!(event.request_id.as_deref(), Some("req-7"));
/// assert_eq!(event.actor_id.as_deref(), Some("u-1"));
///
/// // What the event says wins.
/// let mut webhook = AuditEvent::builder("webhook.received")
///     .actor(ActorKind::System, "src-1", "ci")
///     .build();
/// ctx.apply(&mut webhook);
/// assert_eq!(webhook.actor_id.as_deref(), Some("src-1"));
/// assert_eq!(webhook.tenant_id.as_deref(), Some("acme"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditContext {
    request_id: Option<String>,
    client_ip: Option<IpAddr>,
    user_agent: Option<String>,
    actor: Option<(ActorKind, String, String)>,
    tenant_id: Option<String>,
}

impl AuditContext {
    /// An empty context: applying it changes nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The request's id (as set or propagated by the HTTP layer).
    #[must_use]
    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// The client's address, as the trusted-proxy rules resolved it.
    #[must_use]
    pub fn client_ip(mut self, ip: IpAddr) -> Self {
        self.client_ip = Some(ip);
        self
    }

    /// The client's `User-Agent` (sanitised and capped by the event pipeline like any field).
    #[must_use]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// The authenticated actor: kind, id and display name.
    #[must_use]
    pub fn actor(
        mut self,
        kind: ActorKind,
        id: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        self.actor = Some((kind, id.into(), name.into()));
        self
    }

    /// The tenant the request acts in.
    #[must_use]
    pub fn tenant(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    /// Fills what `event` leaves unset. The actor is filled only when the event names none
    /// (neither an id nor a name).
    pub fn apply(&self, event: &mut AuditEvent) {
        fill(&mut event.request_id, &self.request_id);
        if event.ip_address.is_none() {
            event.ip_address = self.client_ip;
        }
        fill(&mut event.user_agent, &self.user_agent);
        fill(&mut event.tenant_id, &self.tenant_id);
        if let Some((kind, id, name)) = &self.actor
            && event.actor_id.is_none()
            && event.actor.is_none()
        {
            event.set_actor(*kind, id.clone(), name.clone());
        }
    }
}

fn fill(field: &mut Option<String>, from: &Option<String>) {
    if field.is_none() {
        field.clone_from(from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_context_changes_nothing() {
        let event = AuditEvent::builder("x").build();
        let mut applied = event.clone();
        AuditContext::new().apply(&mut applied);
        assert_eq!(applied, event);
    }

    #[test]
    fn fields_the_event_sets_are_never_overridden() {
        let ctx = AuditContext::new()
            .request_id("ctx")
            .client_ip("10.0.0.1".parse().unwrap())
            .user_agent("ctx-agent")
            .tenant("ctx-tenant")
            .actor(ActorKind::User, "ctx-user", "ctx");
        let mut event = AuditEvent::builder("auth.login_failed")
            .request_id("own")
            .ip("192.0.2.1".parse().unwrap())
            .user_agent("own-agent")
            .tenant("own-tenant")
            .actor_name(ActorKind::User, "typed-username")
            .build();
        ctx.apply(&mut event);
        assert_eq!(event.request_id.as_deref(), Some("own"));
        assert_eq!(event.ip_address, Some("192.0.2.1".parse().unwrap()));
        assert_eq!(event.user_agent.as_deref(), Some("own-agent"));
        assert_eq!(event.tenant_id.as_deref(), Some("own-tenant"));
        assert_eq!(event.actor.as_deref(), Some("typed-username"));
        assert_eq!(
            event.actor_id, None,
            "an actor name alone is not completed from the context"
        );
    }
}
