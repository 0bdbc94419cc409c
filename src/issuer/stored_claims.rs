//! [`Claims`] as a stored record: everything a credential dataset holds —
//! plain claims, perk flags, committed integers with their maxima, their
//! threshold grids, and whether a granted perk requires a status entry —
//! so that an offer made now (by one process) can be issued later (by
//! another, e.g. the issuer service after a restart) exactly as made.
//!
//! ```text
//! {"v": 1, "claims": {"tier": "A"}, "perks": {"no_deposit_rental": true},
//!  "committed": {"score": {"value": 712, "max": 950}},
//!  "grids": {"score": {"min": 350, "max": 950, "thresholds": [..]}},
//!  "status_required_by": "no_deposit_rental"}
//! ```
//!
//! Reading is strict and bounded: the [`Limits`] given, no unknown member,
//! every name and value checked again as [`Claims::insert`],
//! [`Claims::insert_perk`], [`Claims::commit`] and [`Claims::set_grid`]
//! check them, and `status_required_by` naming a granted perk.

use serde_json::{json, Map, Value};

use crate::error::{Error, IssuanceError};
use crate::format::encoding::{parse_json_object, to_json};
use crate::issuer::Claims;
use crate::profile::grid::Grid;
use crate::Limits;

const VERSION: u64 = 1;

fn bad(reason: &'static str) -> Error {
    IssuanceError::Config { reason }.into()
}

impl Claims {
    /// The claims as a stored record (see the [module docs](self)). It holds
    /// personal data in the clear: store it as such.
    pub fn to_stored_json(&self) -> String {
        let committed: Map<String, Value> =
            self.committed.iter().map(|(k, &(value, max))| (k.clone(), json!({"value": value, "max": max}))).collect();
        let grids: Map<String, Value> = self.grids.iter().map(|(k, g)| (k.clone(), g.to_json())).collect();
        to_json(&json!({
            "v": VERSION,
            "claims": self.disclosable,
            "perks": self.perks,
            "committed": committed,
            "grids": grids,
            "status_required_by": self.status_required_by,
        }))
    }

    /// Reads claims written by [`Claims::to_stored_json`], strictly, within
    /// `limits`.
    pub fn from_stored_json(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        let m = parse_json_object(bytes, limits, "stored claims")?;
        const MEMBERS: [&str; 6] = ["v", "claims", "perks", "committed", "grids", "status_required_by"];
        if m.len() != MEMBERS.len() || !MEMBERS.iter().all(|k| m.contains_key(*k)) {
            return Err(bad("stored claims must have exactly v, claims, perks, committed, grids, status_required_by"));
        }
        if m["v"].as_u64() != Some(VERSION) {
            return Err(bad("stored claims of an unknown version"));
        }
        let object = |k: &str| m[k].as_object().ok_or_else(|| bad("a member of stored claims is not an object"));
        let mut claims = Claims::new();
        for (name, value) in object("claims")? {
            claims.insert(name, value.clone())?;
        }
        for (name, flag) in object("perks")? {
            claims.insert_perk(name, flag.as_bool().ok_or_else(|| bad("a stored perk is not true or false"))?)?;
        }
        for (name, c) in object("committed")? {
            let c = c.as_object().filter(|c| c.len() == 2).ok_or_else(|| bad("a stored commitment is malformed"))?;
            let int = |k: &str| c.get(k).and_then(Value::as_u64).ok_or_else(|| bad("a stored commitment is malformed"));
            claims.commit(name, int("value")?, int("max")?)?;
        }
        for (name, g) in object("grids")? {
            let grid = Grid::from_json(g).map_err(|_| bad("a stored grid is malformed"))?;
            claims.set_grid(name, grid)?;
        }
        claims.status_required_by = match &m["status_required_by"] {
            Value::Null => None,
            Value::String(perk) if claims.perks.get(perk) == Some(&true) => Some(perk.clone()),
            _ => return Err(bad("stored status_required_by must name a granted perk")),
        };
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::policy::{score, Date, Policy, Records, SHIPPED};

    #[test]
    fn round_trips_hand_built_and_policy_claims() {
        let limits = Limits::default();
        let mut c = Claims::new();
        c.commit("score", 712, 950).unwrap();
        c.set_grid("score", Grid::default_for(350, 950).unwrap()).unwrap();
        c.insert("tier", "A").unwrap().insert("score_scale", json!({"min": 350, "max": 950})).unwrap();
        c.insert_perk("no_deposit_rental", true).unwrap();
        let back = Claims::from_stored_json(c.to_stored_json().as_bytes(), &limits).unwrap();
        assert_eq!(back, c);

        for (id, json) in SHIPPED {
            let policy = Policy::from_json_slice(json.as_bytes(), limits.max_policy_bytes()).unwrap();
            let path = format!("{}/policies/examples/records-{id}.json", env!("CARGO_MANIFEST_DIR"));
            let bytes = std::fs::read(path).unwrap();
            let records = Records::from_json_slice(&bytes, limits.max_records_bytes(), limits.max_records()).unwrap();
            let report = score(&policy, records.as_slice(), Date::parse("2025-01-01").unwrap()).unwrap();
            let c = Claims::from_score(&policy, &report).unwrap();
            let back = Claims::from_stored_json(c.to_stored_json().as_bytes(), &limits).unwrap();
            assert_eq!(back, c, "{id}");
        }
    }

    #[test]
    fn refuses_what_claims_refuse() {
        let limits = Limits::default();
        let mut c = Claims::new();
        c.commit("score", 712, 950).unwrap();
        c.insert_perk("a", true).unwrap();
        let good: Value = serde_json::from_str(&c.to_stored_json()).unwrap();
        let set = |path: &str, v: Value| {
            let mut doc = good.clone();
            *doc.pointer_mut(path).unwrap() = v;
            Claims::from_stored_json(doc.to_string().as_bytes(), &limits)
        };
        assert!(set("/v", json!(2)).is_err());
        assert!(set("/claims", json!({"iss": "x"})).is_err(), "reserved");
        assert!(set("/perks", json!({"a": 1})).is_err());
        assert!(set("/committed/score", json!({"value": 951, "max": 950})).is_err());
        assert!(set("/committed/score", json!({"value": 1, "max": 950, "x": 1})).is_err());
        assert!(set("/grids", json!({"score": {"min": 0, "max": 10, "thresholds": []}})).is_err(), "value off");
        assert!(set("/status_required_by", json!("b")).is_err(), "not a perk");
        assert!(set("/status_required_by", json!("a")).is_ok());
        let mut extra = good.clone();
        extra["more"] = json!(1);
        assert!(Claims::from_stored_json(extra.to_string().as_bytes(), &limits).is_err());
        assert!(Claims::from_stored_json(b"{\"v\":1,\"v\":1}", &limits).is_err());
    }
}
