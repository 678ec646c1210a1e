//! The roles that access control knows. Roles are code because every endpoint declares which of
//! them may call it; where a role applies (which ward) is data.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A role a staff or machine account can hold over a jurisdiction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the system: accounts, reference data, the audit log.
    Admin,
    /// Official of the district people's committee.
    DistrictOfficial,
    /// Official of a ward people's committee.
    WardOfficial,
    /// Justice office clerk keeping the civil-status books.
    RegistryClerk,
    /// Handles citizens' complaints.
    ComplaintHandler,
    /// Operator of the monitoring centre.
    Operator,
    /// A city doctor taking telehealth calls.
    Doctor,
    /// Staff of a ward health station.
    ClinicStaff,
    /// Takes payments at a cash desk.
    Cashier,
    /// A street kiosk's machine account.
    KioskDevice,
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRole(pub String);

impl std::fmt::Display for UnknownRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown role '{}'; roles are: ", self.0)?;
        let names: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
        f.write_str(&names.join(", "))
    }
}

impl std::error::Error for UnknownRole {}

impl Role {
    pub const ALL: [Role; 10] = [
        Role::Admin,
        Role::DistrictOfficial,
        Role::WardOfficial,
        Role::RegistryClerk,
        Role::ComplaintHandler,
        Role::Operator,
        Role::Doctor,
        Role::ClinicStaff,
        Role::Cashier,
        Role::KioskDevice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::DistrictOfficial => "district_official",
            Role::WardOfficial => "ward_official",
            Role::RegistryClerk => "registry_clerk",
            Role::ComplaintHandler => "complaint_handler",
            Role::Operator => "operator",
            Role::Doctor => "doctor",
            Role::ClinicStaff => "clinic_staff",
            Role::Cashier => "cashier",
            Role::KioskDevice => "kiosk_device",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| UnknownRole(s.to_string()))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_json() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
        let err = "mayor".parse::<Role>().unwrap_err();
        assert!(err.to_string().contains("registry_clerk"));
    }
}
