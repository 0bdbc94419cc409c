//! Range predicates in credentials and presentations.
//!
//! The issuer signs, for each committed integer attribute (e.g. `score`), a
//! `range` entry in the credential payload:
//!
//! ```json
//! "range": {"score": {"scheme": "hashwires-v2", "bits": 11,
//!                     "ge": "<commitment to v>", "le": "<commitment to max - v>"}}
//! ```
//!
//! where `max = 2^bits - 1`. The scheme fixes the base as a function of the
//! width, [`RangeParams::for_bits`] (11 bits: base 46, two digits), so the
//! entry does not carry it: issuer and verifier derive the same parameters,
//! and a credential cannot ask a verifier for any other. The holder gets `v` and one
//! 32-byte seed per credential; the seed of attribute `a`'s `ge` commitment is
//! `seed.child(a).child("ge")`, and of its `le` commitment
//! `seed.child(a).child("le")` (HKDF, see [`crate::format::hazmat::range`]).
//!
//! The holder answers a predicate with one proof per *atom* inside the KB-JWT
//! payload, so the holder key signs each proof together with the verifier's
//! nonce and audience: `"range_proofs": {"score>=650": "<b64>", "score<=900":
//! "<b64>"}`. `a>=t` is proven on `ge`; `a<=t` as `max-v >= max-t` on `le`;
//! `l<=a<=h` as both atoms. A `<=` threshold above `max` is clamped to `max`
//! (the predicate then holds for every committed value).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Map, Value};

use crate::error::{Error, LimitError, MalformedError, PredicateError};
use crate::format::encoding::{b64_decode, b64_decode_array, b64_encode};
use crate::format::hazmat::range::{self, Commitment, RangeError, RangeParams, RangeProof, RangeSeed};
use crate::profile::grid::Grid;
use crate::profile::predicate::Predicate;

/// The `scheme` of a range entry.
pub(crate) const RANGE_SCHEME: &str = "hashwires-v2";

/// One committed attribute as signed in the credential.
#[derive(Clone, Copy)]
pub(crate) struct RangeEntry {
    pub(crate) params: RangeParams,
    pub(crate) ge: Commitment,
    pub(crate) le: Commitment,
}

impl RangeEntry {
    pub(crate) fn to_json(self) -> Value {
        json!({
            "scheme": RANGE_SCHEME,
            "bits": self.params.bits(),
            "ge": b64_encode(self.ge.as_bytes()),
            "le": b64_encode(self.le.as_bytes()),
        })
    }

    /// Parses one entry; anything but exactly these four fields is refused.
    fn from_json(v: &Value) -> Result<Self, Error> {
        let bad = || Error::from(MalformedError::Claim { name: "range" });
        let m = v.as_object().ok_or_else(bad)?;
        if m.len() != 4 || m.get("scheme").and_then(Value::as_str) != Some(RANGE_SCHEME) {
            return Err(bad());
        }
        let bits = m.get("bits").and_then(Value::as_u64).and_then(|b| u8::try_from(b).ok()).ok_or_else(bad)?;
        let params = RangeParams::for_bits(bits).map_err(|_| bad())?;
        let commitment = |k: &str| -> Result<Commitment, Error> {
            let s = m.get(k).and_then(Value::as_str).ok_or_else(bad)?;
            Ok(Commitment::from_bytes(b64_decode_array::<32>(s, "range commitment")?))
        };
        Ok(Self { params, ge: commitment("ge")?, le: commitment("le")? })
    }
}

/// Reads the signed `range` claim (absent means no committed attributes).
pub(crate) fn parse_range_claim(payload: &Map<String, Value>) -> Result<BTreeMap<String, RangeEntry>, Error> {
    match payload.get("range") {
        None => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m.iter().map(|(k, v)| Ok((k.clone(), RangeEntry::from_json(v)?))).collect(),
        Some(_) => Err(MalformedError::Claim { name: "range" }.into()),
    }
}

/// The smallest bit width that holds `max` (at least 1).
pub(crate) fn bits_for(max: u64) -> u8 {
    u8::try_from(64 - max.leading_zeros()).unwrap_or(64).max(1)
}

/// The seed of attribute `attribute`'s commitment in direction `dir`.
pub(crate) fn child_seed(seed: &RangeSeed, attribute: &str, dir: Direction) -> RangeSeed {
    seed.derive_child(attribute.as_bytes()).derive_child(dir.label())
}

/// Commits to `value` for `attribute` (issuer side).
pub(crate) fn commit(seed: &RangeSeed, attribute: &str, value: u64, max: u64) -> Result<RangeEntry, RangeError> {
    let params = RangeParams::for_bits(bits_for(max))?;
    Ok(RangeEntry {
        params,
        ge: range::commit(&params, value, &child_seed(seed, attribute, Direction::Ge))?,
        le: range::commit(&params, params.mirror(value)?, &child_seed(seed, attribute, Direction::Le))?,
    })
}

/// Which commitment an atom is proven on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// `value >= t`.
    Ge,
    /// `value <= t`.
    Le,
}

impl Direction {
    fn label(self) -> &'static [u8] {
        match self {
            Self::Ge => b"ge",
            Self::Le => b"le",
        }
    }
}

/// One proof obligation: `attribute >= t` or `attribute <= t`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Atom<'a> {
    pub(crate) attribute: &'a str,
    pub(crate) dir: Direction,
    pub(crate) threshold: u64,
}

impl fmt::Display for Atom<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.dir == Direction::Ge { ">=" } else { "<=" };
        write!(f, "{}{op}{}", self.attribute, self.threshold)
    }
}

/// The atoms a predicate needs (none for perks).
pub(crate) fn atoms(p: &Predicate) -> Vec<Atom<'_>> {
    fn atom(attribute: &str, dir: Direction, threshold: u64) -> Atom<'_> {
        Atom { attribute, dir, threshold }
    }
    match p {
        Predicate::AtLeast { attribute, threshold } => vec![atom(attribute, Direction::Ge, *threshold)],
        Predicate::AtMost { attribute, threshold } => vec![atom(attribute, Direction::Le, *threshold)],
        Predicate::Between { attribute, low, high } => {
            vec![atom(attribute, Direction::Ge, *low), atom(attribute, Direction::Le, *high)]
        }
        Predicate::Perk { .. } => Vec::new(),
    }
}

/// Checks that `predicates` need at most one `>=` atom and one `<=` atom
/// per attribute.
///
/// Two HashWires proofs on the same commitment reveal two chain nodes per
/// digit; with a threshold whose only dominating element is all `b-1`
/// digits, one of them is the chain start, and hashing forward recovers
/// every digit of the value. So a credential proves at most one atom per
/// commitment: the holder refuses anything more, whatever the verifier
/// asked, and requests asking for more are malformed.
pub(crate) fn check_one_atom_per_commitment(predicates: &[Predicate]) -> Result<(), String> {
    let mut seen: Vec<(&str, Direction)> = Vec::new();
    for p in predicates {
        for a in atoms(p) {
            if seen.contains(&(a.attribute, a.dir)) {
                return Err(format!(
                    "`{}` needs a second `{}` proof on `{}`; two proofs on one commitment would reveal the value",
                    p,
                    if a.dir == Direction::Ge { ">=" } else { "<=" },
                    a.attribute
                ));
            }
            seen.push((a.attribute, a.dir));
        }
    }
    Ok(())
}

/// The commitment and HashWires threshold an atom is checked against.
fn target(entry: &RangeEntry, atom: &Atom<'_>) -> Result<(Commitment, u64), RangeError> {
    match atom.dir {
        Direction::Ge => Ok((entry.ge, atom.threshold)),
        Direction::Le => Ok((entry.le, entry.params.mirror(atom.threshold.min(entry.params.max_value()))?)),
    }
}

/// Holder: proves `atom` for the committed `value`.
pub(crate) fn prove(entry: &RangeEntry, seed: &RangeSeed, value: u64, atom: &Atom<'_>) -> Result<String, RangeError> {
    let (_, t) = target(entry, atom)?;
    let (v, s) = match atom.dir {
        Direction::Ge => (value, child_seed(seed, atom.attribute, Direction::Ge)),
        Direction::Le => (entry.params.mirror(value)?, child_seed(seed, atom.attribute, Direction::Le)),
    };
    Ok(b64_encode(range::prove(&entry.params, v, &s, t)?.to_bytes()))
}

/// Verifier: checks every atom of `predicate` against the signed entries and
/// the proofs in the KB-JWT. A failure never says anything about the value.
pub(crate) fn verify(
    predicate: &Predicate,
    entries: &BTreeMap<String, RangeEntry>,
    proofs: Option<&Map<String, Value>>,
) -> Result<(), Error> {
    let name = || predicate.to_string();
    for atom in atoms(predicate) {
        let entry = entries
            .get(atom.attribute)
            .ok_or_else(|| PredicateError::NoCommitment { attribute: atom.attribute.to_owned() })?;
        let key = atom.to_string();
        let encoded = proofs
            .and_then(|m| m.get(&key))
            .and_then(Value::as_str)
            .ok_or(PredicateError::MissingProof { predicate: name() })?;
        let invalid = || Error::from(PredicateError::ProofInvalid { predicate: name() });
        // Bound the decode by the one length the parameters allow.
        if encoded.len() != (entry.params.proof_len() * 4).div_ceil(3) {
            return Err(invalid());
        }
        let bytes = b64_decode(encoded, "range proof")?;
        let proof = RangeProof::from_bytes(&entry.params, &bytes).map_err(|_| invalid())?;
        let (commitment, t) = target(entry, &atom).map_err(|_| invalid())?;
        range::verify(&entry.params, &commitment, t, &proof).map_err(|_| invalid())?;
    }
    Ok(())
}

/// Reads `range_proofs` from a KB-JWT payload, bounded.
pub(crate) fn proofs_of(kb_payload: &Map<String, Value>, max: usize) -> Result<Option<&Map<String, Value>>, Error> {
    match kb_payload.get("range_proofs") {
        None => Ok(None),
        Some(Value::Object(m)) if m.len() <= max => Ok(Some(m)),
        Some(Value::Object(_)) => Err(LimitError::TooManyPredicates { limit: max }.into()),
        Some(_) => Err(MalformedError::Claim { name: "range_proofs" }.into()),
    }
}

/// The holder's secrets for the committed attributes of one credential: the
/// seed and the committed values, and the threshold [`Grid`] of each
/// attribute the issuer published (holder metadata, not signed: it only
/// ever restricts what the holder's wallet answers). Zeroized on drop,
/// redacted in `Debug`.
#[derive(Clone)]
pub struct RangeSecrets {
    seed: RangeSeed,
    values: BTreeMap<String, u64>,
    grids: BTreeMap<String, Grid>,
}

impl RangeSecrets {
    pub(crate) fn new(seed: RangeSeed, values: BTreeMap<String, u64>, grids: BTreeMap<String, Grid>) -> Self {
        Self { seed, values, grids }
    }
    pub(crate) fn seed(&self) -> &RangeSeed {
        &self.seed
    }
    pub(crate) fn value(&self, attribute: &str) -> Option<u64> {
        self.values.get(attribute).copied()
    }
    /// The issuer's grid for `attribute`, if the batch carried one (batch
    /// files written before grids existed do not).
    pub(crate) fn grid(&self, attribute: &str) -> Option<&Grid> {
        self.grids.get(attribute)
    }
    pub(crate) fn to_json(&self) -> Value {
        let mut v = json!({"seed": b64_encode(self.seed.expose_secret_bytes()), "values": self.values});
        if !self.grids.is_empty() {
            let grids: Map<String, Value> = self.grids.iter().map(|(k, g)| (k.clone(), g.to_json())).collect();
            v["grids"] = Value::Object(grids);
        }
        v
    }
    pub(crate) fn from_json(v: &Value) -> Result<Self, Error> {
        let bad = || Error::from(MalformedError::Claim { name: "range secrets" });
        let seed = v.get("seed").and_then(Value::as_str).ok_or_else(bad)?;
        let seed = RangeSeed::from_bytes(b64_decode_array::<32>(seed, "range seed")?);
        let values: BTreeMap<String, u64> = v
            .get("values")
            .and_then(Value::as_object)
            .ok_or_else(bad)?
            .iter()
            .map(|(k, v)| v.as_u64().map(|n| (k.clone(), n)).ok_or_else(bad))
            .collect::<Result<_, _>>()?;
        let grids = match v.get("grids") {
            None => BTreeMap::new(),
            Some(Value::Object(m)) if m.keys().all(|k| values.contains_key(k)) => {
                m.iter().map(|(k, g)| Ok((k.clone(), Grid::from_json(g)?))).collect::<Result<_, Error>>()?
            }
            Some(_) => return Err(bad()),
        };
        Ok(Self { seed, values, grids })
    }
}

impl Drop for RangeSecrets {
    fn drop(&mut self) {
        for v in self.values.values_mut() {
            zeroize::Zeroize::zeroize(v);
        }
    }
}

impl fmt::Debug for RangeSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RangeSecrets([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_for_scale_max() {
        assert_eq!(bits_for(0), 1);
        assert_eq!(bits_for(1), 1);
        assert_eq!(bits_for(950), 10);
        assert_eq!(bits_for(1000), 10);
        assert_eq!(bits_for(1300), 11);
        assert_eq!(bits_for(u64::MAX), 64);
    }

    #[test]
    fn atoms_and_clamping() {
        let seed = RangeSeed::from_bytes([9; 32]);
        let entry = commit(&seed, "score", 712, 950).unwrap();
        let p: Predicate = "600<=score<=5000".parse().unwrap();
        let mut proofs = Map::new();
        for a in atoms(&p) {
            proofs.insert(a.to_string(), json!(prove(&entry, &seed, 712, &a).unwrap()));
        }
        let entries = BTreeMap::from([("score".to_owned(), entry)]);
        verify(&p, &entries, Some(&proofs)).unwrap();
        let other: Predicate = "713<=score<=5000".parse().unwrap();
        assert_eq!(verify(&other, &entries, Some(&proofs)).unwrap_err().check(), "predicate.missing_proof");
        let p713: Predicate = "score>=713".parse().unwrap();
        let a = &atoms(&p713)[0];
        assert_eq!(prove(&entry, &seed, 712, a), Err(RangeError::PredicateFalse));
    }
}
