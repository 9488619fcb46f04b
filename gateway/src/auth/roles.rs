//! What each role may do with the Partner API calls the gateway forwards.
//!
//! Reads are open to every signed-in role. Changes: `admin` any; `staff`
//! only on end-users (Podero role `user` or `guest`) and their devices,
//! buildings and reconnection links — never on admins or staff, and never
//! creating or promoting one (Podero gives staff at most read access to
//! staff and admin users, REFERENCE.md §3); `viewer` none. The gateway's
//! own endpoints check [`crate::auth::Actor`] in their handlers; the whole
//! matrix is in `gateway/README.md`.

use axum::http::Method;
use shared::staff::StaffRole;
use shared::Role;

use crate::error::{GatewayError, Msg};
use crate::podero::ApiRoute;
use crate::request::is_write;

/// May `role` send `method` on `route`? `body_role` is the `role` field
/// of a user create/update body; `target_role` the current role of the
/// user the route is about (needed for staff changes only; `None` when
/// that user does not exist, and Podero will answer 404).
pub fn check_forward(
    role: StaffRole,
    route: &ApiRoute,
    method: &Method,
    body_role: Option<Role>,
    target_role: Option<Role>,
) -> Result<(), GatewayError> {
    if !is_write(method) {
        return Ok(());
    }
    match role {
        StaffRole::Admin => Ok(()),
        StaffRole::Viewer => Err(GatewayError::Forbidden(Msg::new(
            "error.forbidden.viewer_reads_only",
        ))),
        StaffRole::Staff => {
            if let Some(r) = body_role.filter(|r| !role.can_change_user_of_role(*r)) {
                return Err(GatewayError::Forbidden(
                    Msg::new("error.forbidden.staff_gives_role").with("role", r.as_str()),
                ));
            }
            match (route, target_role) {
                (ApiRoute::Users, _) => Ok(()),
                (_, Some(r)) if !role.can_change_user_of_role(r) => Err(GatewayError::Forbidden(
                    Msg::new("error.forbidden.staff_changes_team").with("role", r.as_str()),
                )),
                _ => Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    /// Every role × method × route kind × target role.
    #[test]
    fn matrix() {
        let u = Uuid::nil();
        let k = shared::DeviceKind::HeatPump;
        let routes = [
            ApiRoute::Users,
            ApiRoute::User(u),
            ApiRoute::Devices(u, k),
            ApiRoute::Device(u, k, u),
            ApiRoute::AuthSession(u, k, u),
            ApiRoute::Buildings(u),
            ApiRoute::Building(u, u),
        ];
        for route in &routes {
            for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
                for target in [Role::Admin, Role::Staff, Role::User, Role::Guest] {
                    let read = method == Method::GET;
                    let target_is_team = matches!(target, Role::Admin | Role::Staff);
                    for role in StaffRole::ALL {
                        let allowed =
                            check_forward(role, route, &method, None, Some(target)).is_ok();
                        let expected = match role {
                            StaffRole::Admin => true,
                            StaffRole::Viewer => read,
                            StaffRole::Staff => {
                                read || matches!(route, ApiRoute::Users) || !target_is_team
                            }
                        };
                        assert_eq!(
                            allowed, expected,
                            "{role:?} {method} {route:?} on {target:?}"
                        );
                    }
                }
            }
        }
        // Creating or promoting a team member: admins only.
        for r in [Role::Admin, Role::Staff] {
            assert!(check_forward(
                StaffRole::Staff,
                &ApiRoute::Users,
                &Method::POST,
                Some(r),
                None
            )
            .is_err());
            assert!(check_forward(
                StaffRole::Staff,
                &ApiRoute::User(u),
                &Method::PUT,
                Some(r),
                Some(Role::User)
            )
            .is_err());
            assert!(check_forward(
                StaffRole::Admin,
                &ApiRoute::Users,
                &Method::POST,
                Some(r),
                None
            )
            .is_ok());
        }
        assert!(check_forward(
            StaffRole::Staff,
            &ApiRoute::Users,
            &Method::POST,
            Some(Role::User),
            None
        )
        .is_ok());
    }
}
