//! Demo data: the district with its wards, and one staff account for every role, with
//! passwords generated on first load and kept in the data directory so they can be shown again.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use q10_core_api::{AccountKind, Grant, NewUser, Role};
use rand::RngCore;
use time::OffsetDateTime;

use crate::audit::{Actor, AuditKey};
use crate::error::Result;
use crate::store::Store;
use crate::{account, jurisdiction};

/// District 10 (Ho Chi Minh City) and its 15 wards, with approximate boundaries.
pub const DISTRICT_GEOJSON: &str = include_str!("../demo/district10.geojson");

/// File in the data directory that keeps the demo accounts' passwords.
pub const ACCOUNTS_FILE: &str = "demo-accounts.txt";

/// A demo account as shown to the person starting the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAccount {
    pub username: String,
    pub role: Role,
    pub jurisdiction: String,
    pub password: String,
}

/// Who the demo accounts are: username, name, role, jurisdiction code.
const ACCOUNTS: [(&str, &str, Role, &str); 10] = [
    ("admin", "Quản trị hệ thống", Role::Admin, "79"),
    ("district.official", "Cán bộ Quận 10", Role::DistrictOfficial, "771"),
    ("ward1.official", "Cán bộ Phường 1", Role::WardOfficial, "27211"),
    ("registry.clerk", "Công chức Hộ tịch", Role::RegistryClerk, "771"),
    ("ward1.handler", "Xử lý phản ánh Phường 1", Role::ComplaintHandler, "27211"),
    ("operator", "Trực trung tâm điều hành", Role::Operator, "771"),
    ("doctor", "Bác sĩ tuyến thành phố", Role::Doctor, "79"),
    ("ward1.clinic", "Trạm Y tế Phường 1", Role::ClinicStaff, "27211"),
    ("cashier", "Thu ngân Quận 10", Role::Cashier, "771"),
    ("kiosk.ward1", "Kiosk Phường 1", Role::KioskDevice, "27211"),
];

fn new_password() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn read_accounts(path: &Path) -> Vec<DemoAccount> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.split('\t');
            Some(DemoAccount {
                username: parts.next()?.to_string(),
                role: parts.next()?.parse().ok()?,
                jurisdiction: parts.next()?.to_string(),
                password: parts.next()?.to_string(),
            })
        })
        .collect()
}

/// Loads the demo district and accounts if they are not there yet; returns the accounts.
pub async fn load(store: &Store, key: &AuditKey, data_dir: &Path, now: OffsetDateTime) -> Result<Vec<DemoAccount>> {
    jurisdiction::import(store, key, Actor::system(), "demo", DISTRICT_GEOJSON, now).await?;
    let path = data_dir.join(ACCOUNTS_FILE);
    let mut known = read_accounts(&path);
    let mut created = Vec::new();
    for (username, name, role, unit) in ACCOUNTS {
        if store.user_by_username(username).await?.is_some() {
            continue;
        }
        let password = new_password();
        let kind = if role == Role::KioskDevice { AccountKind::Device } else { AccountKind::Person };
        let new = NewUser {
            username: username.into(),
            display_name: name.into(),
            kind,
            password: password.clone(),
            grants: vec![Grant { role, jurisdiction: unit.into() }],
        };
        account::create(store, key, Actor::system(), "demo", &new, now).await?;
        known.retain(|a| a.username != username);
        created.push(DemoAccount { username: username.into(), role, jurisdiction: unit.into(), password });
    }
    if let Some(doctor) = store.user_by_username("doctor").await? {
        crate::telehealth::demo_slots(store, key, doctor.id, now).await?;
    }
    if !created.is_empty() {
        known.extend(created);
        let mut text = String::from("# Demo accounts: username, role, jurisdiction, password. Demo use only.\n");
        for a in &known {
            text.push_str(&format!("{}\t{}\t{}\t{}\n", a.username, a.role, a.jurisdiction, a.password));
        }
        write_private(&path, &text).map_err(crate::Error::Internal)?;
    }
    Ok(known)
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    Ok(())
}
