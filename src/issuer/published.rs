//! The issuer signs each policy version it publishes (the token's format
//! is in [`crate::policy`]: [`crate::policy::verify_policy_token`]), and
//! its receipts and resolutions of disputes ([`crate::dispute`]).

use serde_json::json;

use crate::format::time::UnixTime;
use crate::issuer::Issuer;
use crate::profile::dispute::{signed_payload, Receipt, Resolution, RECEIPT_TYP, RESOLUTION_TYP};
use crate::profile::policy::{policy_token_payload, Policy, POLICY_TYP};

impl Issuer {
    /// Signs `policy` as a published policy version
    /// (`typ: creditproof-policy+jwt`, payload `{"iss", "iat", "sha256",
    /// "policy"}`, `iat` rounded to the day).
    pub fn sign_policy(&self, policy: &Policy, now: UnixTime) -> String {
        let header = json!({"typ": POLICY_TYP, "kid": self.kid()});
        self.sign_token(&header, &policy_token_payload(self.id(), policy, now.start_of_day().as_secs()))
    }

    /// Signs a dispute receipt for the holder
    /// (`typ: creditproof-dispute-receipt+jwt`).
    pub fn sign_receipt(&self, receipt: &Receipt) -> String {
        let header = json!({"typ": RECEIPT_TYP, "kid": self.kid()});
        self.sign_token(&header, &signed_payload(self.id(), receipt))
    }

    /// Signs the resolution of one disputed entry for the holder
    /// (`typ: creditproof-dispute-resolution+jwt`).
    pub fn sign_resolution(&self, resolution: &Resolution) -> String {
        let header = json!({"typ": RESOLUTION_TYP, "kid": self.kid()});
        self.sign_token(&header, &signed_payload(self.id(), resolution))
    }
}

#[cfg(test)]
mod tests {
    use crate::format::keys::{HolderSigningKey, IssuerSigningKey};
    use crate::format::rng::SystemRng;
    use crate::format::time::UnixTime;
    use crate::format::trust::TrustStore;
    use crate::issuer::Issuer;
    use crate::profile::dispute::{
        check_dispute_request, sign_dispute_request, verify_signed, CheckedDispute, DisputeError, Outcome, Receipt,
        Resolution, DISPUTE_MAX_AGE_SECS, MAX_EVIDENCE_BYTES, RECEIPT_TYP, RESOLUTION_TYP,
    };
    use crate::profile::policy::{score, shipped, Date, DisputeEntry, Records};
    use crate::Limits;

    const ISS: &str = "https://bureau.example";
    const NOW: UnixTime = UnixTime(1_767_225_600);

    struct World {
        issuer: Issuer,
        trust: TrustStore,
        holder: HolderSigningKey,
        breakdown: String,
    }

    fn world() -> World {
        let mut rng = SystemRng::new();
        let issuer = Issuer::new(ISS, IssuerSigningKey::generate(&mut rng)).unwrap();
        let mut trust = TrustStore::new();
        trust.add_with_kid(ISS, issuer.kid(), issuer.public_key());
        let holder = HolderSigningKey::generate(&mut rng);
        let policy = shipped("sesame-style").unwrap().unwrap();
        let records = Records::from_json(
            br#"[{"kind": "default", "date": "2025-03-01", "reference": "loan-17"},
                 {"kind": "repayment_on_time", "date": "2025-02-01", "reference": "card-02"}]"#,
        )
        .unwrap();
        let report = score(&policy, records.as_slice(), Date::parse("2025-12-31").unwrap()).unwrap();
        let breakdown = issuer.sign_breakdown(&report, &holder.public_key(), NOW);
        World { issuer, trust, holder, breakdown }
    }

    fn entry(reference: &str) -> DisputeEntry {
        DisputeEntry { reference: reference.into(), reason: "never my loan".into() }
    }

    fn check(w: &World, token: &str, evidence: Option<&[u8]>, now: UnixTime) -> Result<CheckedDispute, DisputeError> {
        check_dispute_request(token, evidence, &w.trust, ISS, now, &Limits::default())
    }

    fn sign(w: &World, key: &HolderSigningKey, aud: &str, entries: &[DisputeEntry], evidence: Option<&[u8]>) -> String {
        sign_dispute_request(key, aud, &w.breakdown, entries, evidence, NOW, &mut SystemRng::new())
    }

    #[test]
    fn a_holder_signed_dispute_of_breakdown_entries_passes() {
        let w = world();
        let token = sign(&w, &w.holder, ISS, &[entry("loan-17")], Some(b"bank letter"));
        let checked = check(&w, &token, Some(b"bank letter"), NOW).unwrap();
        assert_eq!(checked.holder, w.holder.public_key().thumbprint());
        assert_eq!(checked.breakdown_holder, checked.holder);
        assert_eq!(checked.entries, vec![entry("loan-17")]);
        assert_eq!(checked.report.policy_id, "sesame-style");
        assert!(checked.evidence_sha256.is_some());
        let again = sign(&w, &w.holder, ISS, &[entry("loan-17")], None);
        assert_ne!(check(&w, &again, None, NOW).unwrap().jti, checked.jti, "a fresh jti each time");
    }

    #[test]
    fn every_bad_dispute_gets_its_code() {
        let w = world();
        let code = |r: Result<CheckedDispute, DisputeError>| r.unwrap_err().code();
        // Not in the breakdown; twice; none; empty reason.
        assert_eq!(code(check(&w, &sign(&w, &w.holder, ISS, &[entry("loan-99")], None), None, NOW)), "invalid_request");
        let twice = [entry("loan-17"), entry("loan-17")];
        assert_eq!(code(check(&w, &sign(&w, &w.holder, ISS, &twice, None), None, NOW)), "invalid_request");
        assert_eq!(code(check(&w, &sign(&w, &w.holder, ISS, &[], None), None, NOW)), "invalid_request");
        let blank = [DisputeEntry { reference: "loan-17".into(), reason: " ".into() }];
        assert_eq!(code(check(&w, &sign(&w, &w.holder, ISS, &blank, None), None, NOW)), "invalid_request");
        // Another issuer's audience; stale; from the future.
        let other = sign(&w, &w.holder, "https://other.example", &[entry("loan-17")], None);
        assert_eq!(code(check(&w, &other, None, NOW)), "invalid_proof");
        let token = sign(&w, &w.holder, ISS, &[entry("loan-17")], None);
        assert_eq!(code(check(&w, &token, None, UnixTime(NOW.0 + DISPUTE_MAX_AGE_SECS + 1))), "invalid_proof");
        assert_eq!(code(check(&w, &token, None, UnixTime(NOW.0 - 3600))), "invalid_proof");
        // A tampered payload no longer verifies.
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!("{}.{}x.{}", parts[0], &parts[1][..parts[1].len() - 1], parts[2]);
        assert!(check(&w, &forged, None, NOW).is_err());
        // Evidence: other bytes, missing, unsigned, too large.
        let with = sign(&w, &w.holder, ISS, &[entry("loan-17")], Some(b"letter"));
        assert_eq!(code(check(&w, &with, Some(b"other"), NOW)), "invalid_proof");
        assert_eq!(code(check(&w, &with, None, NOW)), "invalid_request");
        assert_eq!(code(check(&w, &token, Some(b"letter"), NOW)), "invalid_request");
        let huge = vec![0u8; MAX_EVIDENCE_BYTES + 1];
        assert_eq!(code(check(&w, &with, Some(&huge), NOW)), "invalid_request");
        // A breakdown this issuer never signed.
        let mut rng = SystemRng::new();
        let stranger = Issuer::new(ISS, IssuerSigningKey::generate(&mut rng)).unwrap();
        let report = crate::profile::breakdown::read_breakdown_unverified(&w.breakdown, &Limits::default()).unwrap().1;
        let fake = World {
            breakdown: stranger.sign_breakdown(&report, &w.holder.public_key(), NOW),
            issuer: stranger,
            trust: w.trust.clone(),
            holder: HolderSigningKey::generate(&mut rng),
        };
        let token = sign(&fake, &w.holder, ISS, &[entry("loan-17")], None);
        assert_eq!(code(check(&fake, &token, None, NOW)), "invalid_proof");
        // Someone else's key signing the holder's breakdown is caught by the
        // caller: the checked holder is not the breakdown's.
        let thief = HolderSigningKey::generate(&mut rng);
        let stolen = check(&w, &sign(&w, &thief, ISS, &[entry("loan-17")], None), None, NOW).unwrap();
        assert_ne!(stolen.holder, stolen.breakdown_holder);
        let _ = &fake.issuer;
    }

    #[test]
    fn receipts_and_resolutions_verify_and_name_their_fields() {
        let w = world();
        let receipt = Receipt {
            dispute_id: "d-1".into(),
            sub: w.holder.public_key().thumbprint(),
            entries: vec!["loan-17".into()],
            policy_id: "sesame-style".into(),
            policy_version: "1".into(),
            received_at: NOW.0,
            answer_by: NOW.0 + 30 * 86_400,
        };
        let token = w.issuer.sign_receipt(&receipt);
        let (iss, back): (String, Receipt) = verify_signed(&token, RECEIPT_TYP, &w.trust, &Limits::default()).unwrap();
        assert_eq!((iss.as_str(), back), (ISS, receipt));
        assert!(verify_signed::<Receipt>(&token, RESOLUTION_TYP, &w.trust, &Limits::default()).is_err(), "typ");
        let resolution = Resolution {
            dispute_id: "d-1".into(),
            sub: w.holder.public_key().thumbprint(),
            reference: "loan-17".into(),
            outcome: Outcome::Rejected,
            reason: "the court record confirms it".into(),
            resolved_at: NOW.0 + 86_400,
            late: false,
        };
        let token = w.issuer.sign_resolution(&resolution);
        let (_, back): (String, Resolution) =
            verify_signed(&token, RESOLUTION_TYP, &w.trust, &Limits::default()).unwrap();
        assert_eq!(back, resolution);
        assert!(verify_signed::<Resolution>(&token, RESOLUTION_TYP, &TrustStore::new(), &Limits::default()).is_err());
    }
}
