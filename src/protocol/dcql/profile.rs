//! creditproof's mapping between its requests and DCQL, both ways.
//!
//! # A request → a query (the verifier's side)
//!
//! A [`ScoreAsk`] (claims to disclose, perks and range predicates) becomes
//! one `dc+sd-jwt` credential query with `meta.vct_values`:
//!
//! | ask | claims query |
//! |---|---|
//! | disclose `tier` | `{"path": ["tier"]}` |
//! | disclose `tier` if one of A, AA | `{"path": ["tier"], "values": ["A", "AA"]}` |
//! | `perk:no_deposit_rental` (Tier 1) | `{"path": ["perks", "no_deposit_rental"], "values": [true]}` |
//! | `score>=650` (Tier 2) | `{"id": "score", "path": ["range", "score"], "creditproof_predicate": {"op": "gte", "value": 650}}` |
//! | `score<=899` (Tier 2) | `… {"op": "lte", "value": 899}` |
//! | `600<=score<=899` (Tier 2) | `… {"op": "between", "low": 600, "high": 899}` |
//!
//! A query with a range predicate is Tier 2: only a creditproof-aware
//! wallet can answer it. One without is Tier 1: any DCQL wallet can.
//!
//! # A query → what to disclose and prove (the wallet's side, and the
//! verifier's own check of an answer)
//!
//! [`obligations`] maps a credential query back, one [`Obligation`] per
//! claim set (or one for all claims), and refuses what creditproof cannot
//! answer or check: a `creditproof_predicate` anywhere but on
//! `["range", ATTRIBUTE]` (predicates are proven on committed attributes
//! only), a committed attribute asked without a predicate, a perk asked
//! other than with `values: [true]`, and any other path than a top-level
//! claim name, `["perks"]` or `["perks", NAME]`. Whether the holder's
//! credential commits to the attribute, and whether a threshold is on its
//! grid, is the wallet's check ([`crate::Wallet::preview`]).

use serde_json::Value;

use crate::error::Error;
use crate::profile::credential::SCORE_VCT;
use crate::profile::grid::Grid;
use crate::profile::predicate::{is_identifier, Predicate};
use crate::profile::request::PresentationRequest;
use crate::profile::PERKS;
use crate::protocol::dcql::error::DcqlError;
use crate::protocol::dcql::predicate::RangePredicate;
use crate::protocol::dcql::query::{
    is_dcql_id, path_text, ClaimValue, ClaimsQuery, CredentialQuery, DcqlQuery, PathElement,
};
use crate::Limits;

/// The id of the credential query a [`ScoreAsk`] becomes by default.
pub const SCORE_QUERY_ID: &str = "credit";
/// The claim that holds the range commitments.
const RANGE: &str = "range";

/// Which wallets can answer a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// Any DCQL wallet: plain claims and perk flags.
    One,
    /// creditproof-aware wallets: range predicates proven in the KB-JWT.
    Two,
}

/// What a verifier asks of one score credential, in creditproof's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScoreAsk {
    disclose: Vec<(String, Vec<ClaimValue>)>,
    predicates: Vec<Predicate>,
}

impl ScoreAsk {
    /// An empty ask.
    pub fn new() -> Self {
        Self::default()
    }

    /// The disclosures and predicates of a [`PresentationRequest`].
    pub fn from_request(request: &PresentationRequest) -> Self {
        Self {
            disclose: request.disclose().iter().map(|d| (d.clone(), Vec::new())).collect(),
            predicates: request.predicates().to_vec(),
        }
    }

    /// Asks the holder to disclose `claim`.
    #[must_use]
    pub fn disclose(mut self, claim: impl Into<String>) -> Self {
        self.disclose.push((claim.into(), Vec::new()));
        self
    }

    /// Asks the holder to disclose `claim` when it has one of `values`
    /// (DCQL value matching; the verifier checks the value itself).
    #[must_use]
    pub fn disclose_if(mut self, claim: impl Into<String>, values: Vec<ClaimValue>) -> Self {
        self.disclose.push((claim.into(), values));
        self
    }

    /// Asks the holder to prove `predicate`.
    #[must_use]
    pub fn predicate(mut self, predicate: Predicate) -> Self {
        self.predicates.push(predicate);
        self
    }

    /// The predicates asked for.
    pub fn predicates(&self) -> &[Predicate] {
        &self.predicates
    }

    /// Tier 2 when a range predicate is asked for, else Tier 1.
    pub fn tier(&self) -> Tier {
        if self.predicates.iter().any(|p| RangePredicate::from_predicate(p).is_some()) {
            Tier::Two
        } else {
            Tier::One
        }
    }

    /// Checks every range predicate on `attribute` against its published
    /// grid: a verifier that asks off the grid would only be refused by
    /// the holders' wallets.
    pub fn check_grid(&self, attribute: &str, grid: &Grid) -> Result<(), DcqlError> {
        for p in &self.predicates {
            let on_attribute = RangePredicate::from_predicate(p).is_some_and(|(a, _)| a == attribute);
            if on_attribute && !grid.allows(p) {
                let nearest: Vec<String> = grid.nearest(p).iter().map(ToString::to_string).collect();
                return Err(DcqlError::invalid(format!(
                    "`{p}` is off the threshold grid of `{attribute}` (nearest on the grid: {})",
                    if nearest.is_empty() { "none".to_owned() } else { nearest.join(", ") }
                )));
            }
        }
        Ok(())
    }

    /// The query: one `dc+sd-jwt` credential query `id` for a credential
    /// of type `urn:creditproof:score:2`. The ask is checked as a
    /// [`PresentationRequest`] is (claim names, no repeats, at most one
    /// `>=` and one `<=` proof per attribute), and at most one predicate
    /// per committed attribute (an interval is `a<=score<=b`).
    pub fn to_query(&self, id: &str) -> Result<DcqlQuery, DcqlError> {
        self.to_query_for(id, vec![SCORE_VCT.to_owned()])
    }

    /// Like [`ScoreAsk::to_query`], for credentials of `vct_values`.
    pub fn to_query_for(&self, id: &str, vct_values: Vec<String>) -> Result<DcqlQuery, DcqlError> {
        let names: Vec<String> = self.disclose.iter().map(|(n, _)| n.clone()).collect();
        // The request's own checks, with a placeholder audience and nonce.
        PresentationRequest::with_nonce(
            "urn:check",
            "0123456789abcdefghijkl",
            names,
            self.predicates.clone(),
            &Limits::default(),
        )
        .map_err(|e| DcqlError::invalid(e.to_string()))?;
        let mut q = CredentialQuery::sd_jwt(id, vct_values);
        for (name, values) in &self.disclose {
            if name == RANGE {
                return Err(DcqlError::unsupported("committed attributes are proven, not disclosed"));
            }
            q = q.claim(ClaimsQuery::new([name.as_str()]).values(values.clone()));
        }
        let mut attributes = Vec::new();
        for p in &self.predicates {
            match (p, RangePredicate::from_predicate(p)) {
                (Predicate::Perk { name }, _) => {
                    q = q.claim(ClaimsQuery::new([PERKS, name.as_str()]).values(vec![ClaimValue::Bool(true)]));
                }
                (_, Some((attribute, r))) => {
                    if attributes.contains(&attribute) {
                        return Err(DcqlError::invalid(format!(
                            "two predicates on `{attribute}`: ask for an interval as `low<={attribute}<=high`"
                        )));
                    }
                    attributes.push(attribute);
                    let claim = ClaimsQuery::new([RANGE, attribute]).predicate(r);
                    q = q.claim(if is_dcql_id(attribute) { claim.id(attribute) } else { claim });
                }
                _ => return Err(DcqlError::unsupported(format!("the predicate `{p}` has no dcql form"))),
            }
        }
        DcqlQuery::new(vec![q], Vec::new())
    }
}

/// The tier of a query: Two when any claims query carries a range
/// predicate.
pub fn query_tier(query: &DcqlQuery) -> Tier {
    let two = query.credentials().iter().flat_map(CredentialQuery::claims).any(|c| c.range_predicate().is_some());
    if two {
        Tier::Two
    } else {
        Tier::One
    }
}

/// What one presentation must disclose and prove to answer a credential
/// query (one alternative of its claim sets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Obligation {
    disclose: Vec<String>,
    values: Vec<(String, Vec<ClaimValue>)>,
    predicates: Vec<Predicate>,
    /// The query's `meta.vct_values`: the wallet considers only credentials
    /// of these types, and the verifier refuses any other (`request.vct`).
    vct_values: Vec<String>,
}

impl Obligation {
    /// The top-level claims to disclose.
    pub fn disclose(&self) -> &[String] {
        &self.disclose
    }

    /// The predicates to prove (perks and range predicates).
    pub fn predicates(&self) -> &[Predicate] {
        &self.predicates
    }

    /// The claims whose disclosed value must be one of the given values.
    pub fn value_constraints(&self) -> &[(String, Vec<ClaimValue>)] {
        &self.values
    }

    /// The presentation request this obligation is, bound to `audience`
    /// (the full client identifier) and `nonce`, for credentials of the
    /// query's `vct_values` only.
    pub fn request(&self, audience: &str, nonce: &str) -> Result<PresentationRequest, Error> {
        PresentationRequest::with_nonce(
            audience,
            nonce,
            self.disclose.clone(),
            self.predicates.clone(),
            &Limits::default(),
        )?
        .with_vct_values(&self.vct_values)
    }

    /// The first claim whose value is not one of its `values`, among
    /// `claims` (name → value as disclosed).
    pub fn value_mismatch<'a>(&'a self, claims: &std::collections::BTreeMap<String, Value>) -> Option<&'a str> {
        self.values
            .iter()
            .find(|(name, allowed)| !claims.get(name).is_some_and(|v| allowed.iter().any(|a| a.matches(v))))
            .map(|(name, _)| name.as_str())
    }
}

/// What a credential query asks, in creditproof's terms: one obligation
/// per claim set, in the verifier's order of preference (one for all
/// claims when there are no claim sets). See the [module
/// documentation](self) for what is refused.
pub fn obligations(query: &CredentialQuery) -> Result<Vec<Obligation>, DcqlError> {
    let one = |claims: &[&ClaimsQuery]| -> Result<Obligation, DcqlError> {
        let mut o = Obligation {
            disclose: Vec::new(),
            values: Vec::new(),
            predicates: Vec::new(),
            vct_values: query.vct_values().to_vec(),
        };
        for c in claims {
            map_claim(c, &mut o)?;
        }
        Ok(o)
    };
    if query.claim_set_ids().is_empty() {
        let all: Vec<&ClaimsQuery> = query.claims().iter().collect();
        return Ok(vec![one(&all)?]);
    }
    query
        .claim_set_ids()
        .iter()
        .map(|set| {
            let claims: Vec<&ClaimsQuery> =
                set.iter().filter_map(|id| query.claims().iter().find(|c| c.claim_id() == Some(id))).collect();
            one(&claims)
        })
        .collect()
}

fn map_claim(c: &ClaimsQuery, o: &mut Obligation) -> Result<(), DcqlError> {
    let keys: Option<Vec<&str>> =
        c.path().iter().map(|e| if let PathElement::Key(k) = e { Some(k.as_str()) } else { None }).collect();
    let path = || path_text(c.path());
    match (keys.as_deref(), c.range_predicate()) {
        (Some([RANGE, attribute]), Some(r)) if is_identifier(attribute) => o.predicates.push(r.on(attribute)),
        (_, Some(_)) => return Err(DcqlError::PredicateNotOnCommitment { path: path() }),
        (Some([RANGE, ..]), None) => {
            return Err(DcqlError::unsupported(format!(
                "{} asks for committed data without a creditproof_predicate",
                path()
            )))
        }
        (Some([PERKS, name]), None) if is_identifier(name) => {
            if c.claim_values() != [ClaimValue::Bool(true)] {
                return Err(DcqlError::unsupported(format!("the perk {} is asked for with `values: [true]`", path())));
            }
            o.predicates.push(Predicate::Perk { name: (*name).to_owned() });
        }
        (Some([name]), None) if is_identifier(name) => {
            if !c.claim_values().is_empty() {
                o.values.push(((*name).to_owned(), c.claim_values().to_vec()));
            }
            o.disclose.push((*name).to_owned());
        }
        _ => return Err(DcqlError::unsupported(format!("creditproof does not map the claim {}", path()))),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ask_to_query_and_back() {
        let ask = ScoreAsk::new()
            .disclose_if("tier", vec!["A".into(), "AA".into()])
            .predicate("score>=650".parse().unwrap())
            .predicate("perk:no_deposit_rental".parse().unwrap());
        assert_eq!(ask.tier(), Tier::Two);
        let q = ask.to_query(SCORE_QUERY_ID).unwrap();
        assert_eq!(
            q.to_json(),
            json!({"credentials": [{
            "id": "credit", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:creditproof:score:2"]},
            "claims": [
                {"path": ["tier"], "values": ["A", "AA"]},
                {"id": "score", "path": ["range", "score"], "creditproof_predicate": {"op": "gte", "value": 650}},
                {"path": ["perks", "no_deposit_rental"], "values": [true]},
            ]}]})
        );
        assert_eq!(query_tier(&q), Tier::Two);
        let back = DcqlQuery::from_json(q.to_json().to_string().as_bytes()).unwrap();
        assert_eq!(back, q);
        let o = obligations(&back.credentials()[0]).unwrap();
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].disclose(), ["tier"]);
        let preds: Vec<String> = o[0].predicates().iter().map(ToString::to_string).collect();
        assert_eq!(preds, ["score>=650", "perk:no_deposit_rental"]);
        let tier1 = ScoreAsk::new().predicate("perk:no_deposit_rental".parse().unwrap());
        assert_eq!(query_tier(&tier1.to_query("c").unwrap()), Tier::One);
    }

    #[test]
    fn asks_refused() {
        let two = ScoreAsk::new().predicate("score>=600".parse().unwrap()).predicate("score<=899".parse().unwrap());
        assert_eq!(two.to_query("c").unwrap_err().check(), "dcql.invalid");
        let twice = ScoreAsk::new().disclose("tier").disclose("tier");
        assert_eq!(twice.to_query("c").unwrap_err().check(), "dcql.invalid");
        assert_eq!(ScoreAsk::new().disclose("range").to_query("c").unwrap_err().check(), "dcql.unsupported");
        assert_eq!(ScoreAsk::new().to_query("bad id").unwrap_err().check(), "dcql.invalid");
        let grid = Grid::default_for(350, 950).unwrap();
        let off = ScoreAsk::new().predicate("score>=713".parse().unwrap());
        assert!(off.check_grid("score", &grid).unwrap_err().to_string().contains("score>=700"));
        assert!(ScoreAsk::new().predicate("score>=700".parse().unwrap()).check_grid("score", &grid).is_ok());
    }

    #[test]
    fn queries_mapped_back_or_refused() {
        let cq = |claims: Value| {
            let q = json!({"credentials": [{"id": "c", "format": "dc+sd-jwt",
                "meta": {"vct_values": [SCORE_VCT]}, "claims": claims}]});
            let q = DcqlQuery::from_json(q.to_string().as_bytes()).unwrap();
            obligations(&q.credentials()[0]).map_err(|e| e.check())
        };
        assert!(cq(json!([{"path": ["perks"]}, {"path": ["range", "score"],
            "creditproof_predicate": {"op": "between", "low": 600, "high": 899}}]))
        .is_ok());
        for (claims, check) in [
            (
                json!([{"path": ["tier"], "creditproof_predicate": {"op": "gte", "value": 1}}]),
                "dcql.predicate_not_on_commitment",
            ),
            (
                json!([{"path": ["range", "score", "ge"], "creditproof_predicate": {"op": "gte", "value": 1}}]),
                "dcql.predicate_not_on_commitment",
            ),
            (json!([{"path": ["range", "score"]}]), "dcql.unsupported"),
            (json!([{"path": ["perks", "x"]}]), "dcql.unsupported"),
            (json!([{"path": ["perks", "x"], "values": [false]}]), "dcql.unsupported"),
            (json!([{"path": ["address", "street"]}]), "dcql.unsupported"),
            (json!([{"path": ["items", null]}]), "dcql.unsupported"),
            (json!([{"path": ["Tier"]}]), "dcql.unsupported"),
        ] {
            assert_eq!(cq(claims.clone()).unwrap_err(), check, "{claims}");
        }
        // Claim sets: one obligation per set, in order.
        let q = json!({"credentials": [{"id": "c", "format": "dc+sd-jwt", "meta": {"vct_values": [SCORE_VCT]},
            "claims": [{"id": "p", "path": ["perks", "a"], "values": [true]}, {"id": "t", "path": ["tier"]}],
            "claim_sets": [["p"], ["t"]]}]});
        let q = DcqlQuery::from_json(q.to_string().as_bytes()).unwrap();
        let o = obligations(&q.credentials()[0]).unwrap();
        assert_eq!((o.len(), o[1].disclose()), (2, &["tier".to_owned()][..]));
    }
}
