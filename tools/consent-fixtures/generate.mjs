// Generates IAB TCF v2 and GPP strings with IAB's own encoders, for tests/fixtures/consent/.
// Usage: npm install && npm run generate   (tests never need node: the output is committed)
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { GVL, TCModel, TCString } from "@iabtcf/core";
import { GppModel } from "@iabgpp/cmpapi";

const outDir = process.argv[2] ?? ".";
mkdirSync(outDir, { recursive: true });

// An offline global vendor list: every vendor 1..MAX declares purposes 1-10 for consent, so
// the semantic pre-encoder keeps the vendor consents we set.
const MAX = 1200;
const vendors = {};
for (let id = 1; id <= MAX; id++) {
  vendors[id] = {
    id, name: `Vendor ${id}`, purposes: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], legIntPurposes: [],
    flexiblePurposes: [], specialPurposes: [], features: [], specialFeatures: [],
    policyUrl: "https://example.invalid/", cookieMaxAgeSeconds: 0, usesCookies: true,
  };
}
const purposes = {};
for (let id = 1; id <= 11; id++) purposes[id] = { id, name: `Purpose ${id}`, description: "", illustrations: [] };
const gvlJson = {
  gvlSpecificationVersion: 3, vendorListVersion: 150, tcfPolicyVersion: 5,
  lastUpdated: "2025-01-01T00:00:00Z", purposes, specialPurposes: {}, features: {},
  specialFeatures: { 1: { id: 1, name: "sf1", description: "" }, 2: { id: 2, name: "sf2", description: "" } },
  stacks: {}, dataCategories: {}, vendors,
};

const created = new Date(Date.UTC(2025, 0, 15, 12, 0, 0));

function tc({ purposes = [], vendors = [], cmpId = 10, cmpVersion = 2, specialFeatures = [] }) {
  const model = new TCModel(new GVL(gvlJson));
  model.cmpId = cmpId;
  model.cmpVersion = cmpVersion;
  model.consentScreen = 1;
  model.publisherCountryCode = "FR";
  model.created = created;
  model.lastUpdated = created;
  model.purposeConsents.set(purposes);
  model.vendorConsents.set(vendors);
  model.specialFeatureOptins.set(specialFeatures);
  const str = TCString.encode(model);
  const back = TCString.decode(str);
  const vendorIds = [];
  back.vendorConsents.forEach((v, id) => { if (v) vendorIds.push(id); });
  const purposeIds = [];
  back.purposeConsents.forEach((v, id) => { if (v) purposeIds.push(id); });
  // Which vendor encoding the encoder chose: bit 229 of the core segment.
  const core = str.split(".")[0];
  const bits = [...core].map((c) => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".indexOf(c)
    .toString(2).padStart(6, "0")).join("");
  return {
    tc_string: str,
    version: back.version, cmp_id: back.cmpId, cmp_version: back.cmpVersion,
    vendor_list_version: back.vendorListVersion, policy_version: back.policyVersion,
    consent_language: back.consentLanguage, publisher_cc: back.publisherCountryCode,
    purposes: purposeIds, max_vendor_id: back.vendorConsents.maxId, vendors: vendorIds,
    encoding: bits[229] === "1" ? "range" : "bitfield",
  };
}

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const everyOther = (a, b) => range(a, b).filter((v) => v % 2 === 1);

const tcf = {
  // purposes 1 and 7 (+ personalised ads), a few low vendors: bitfield
  granted_bitfield: tc({ purposes: [1, 2, 3, 4, 7, 9, 10], vendors: [1, 2, 3, 10, 25] }),
  // many sparse vendors up to 987: bitfield is shorter than ranges
  granted_bitfield_sparse: tc({ purposes: range(1, 10), vendors: [...everyOther(1, 985), 986, 987] }),
  // contiguous runs: range encoding
  granted_range: tc({ purposes: range(1, 11), vendors: [...range(1, 900), 986, ...range(1000, 1100)] }),
  // purposes granted, vendor 986 not in the ranges
  granted_range_without_986: tc({ purposes: [1, 7], vendors: [...range(1, 500), ...range(1000, 1100)] }),
  // only purpose 1 (storage): not enough for ad measurement
  purpose1_only: tc({ purposes: [1], vendors: range(1, 300) }),
  // purpose 7 without purpose 1
  purpose7_only: tc({ purposes: [7], vendors: [986] }),
  // rejected everything
  denied_all: tc({ purposes: [], vendors: [] }),
  // a different CMP id / version and special features
  granted_other_cmp: tc({ purposes: [1, 7], vendors: [986], cmpId: 300, cmpVersion: 17, specialFeatures: [1] }),
};

function gpp(sections) {
  const m = new GppModel();
  for (const [section, fields] of Object.entries(sections)) {
    for (const [k, v] of Object.entries(fields)) m.setFieldValue(section, k, v);
  }
  const str = m.encode();
  const back = new GppModel(str);
  return { gpp_string: str, section_ids: back.getSectionIds() };
}

const notices = { SharingNotice: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1, TargetedAdvertisingOptOutNotice: 1,
  SensitiveDataProcessingOptOutNotice: 1, SensitiveDataLimitUseNotice: 1 };
const gppCases = {
  usnat_not_opted_out: { expect: { SaleOptOut: 2, SharingOptOut: 2, TargetedAdvertisingOptOut: 2 },
    ...gpp({ usnat: { ...notices, SaleOptOut: 2, SharingOptOut: 2, TargetedAdvertisingOptOut: 2 } }) },
  usnat_sale_opt_out: { expect: { SaleOptOut: 1, SharingOptOut: 2, TargetedAdvertisingOptOut: 2 },
    ...gpp({ usnat: { ...notices, SaleOptOut: 1, SharingOptOut: 2, TargetedAdvertisingOptOut: 2 } }) },
  usnat_targeted_opt_out: { expect: { SaleOptOut: 2, SharingOptOut: 2, TargetedAdvertisingOptOut: 1 },
    ...gpp({ usnat: { ...notices, SaleOptOut: 2, SharingOptOut: 2, TargetedAdvertisingOptOut: 1 } }) },
  usnat_sharing_opt_out: { expect: { SaleOptOut: 2, SharingOptOut: 1, TargetedAdvertisingOptOut: 2 },
    ...gpp({ usnat: { ...notices, SaleOptOut: 2, SharingOptOut: 1, TargetedAdvertisingOptOut: 2 } }) },
  usnat_not_applicable: { expect: { SaleOptOut: 0, SharingOptOut: 0, TargetedAdvertisingOptOut: 0 },
    ...gpp({ usnat: { SaleOptOut: 0 } }) },
  usnat_gpc: { expect: { SaleOptOut: 2, SharingOptOut: 2, TargetedAdvertisingOptOut: 2, Gpc: true },
    ...gpp({ usnat: { ...notices, SaleOptOut: 2, SharingOptOut: 2, TargetedAdvertisingOptOut: 2,
      GpcSegmentIncluded: true, Gpc: true } }) },
  uspv1_opted_out: { expect: { OptOutSale: "Y" },
    ...gpp({ uspv1: { Notice: "Y", OptOutSale: "Y", LspaCovered: "N" } }) },
  uspv1_and_usnat: { expect: { OptOutSale: "N", SaleOptOut: 2, SharingOptOut: 2, TargetedAdvertisingOptOut: 2 },
    ...gpp({ uspv1: { Notice: "Y", OptOutSale: "N", LspaCovered: "N" },
      usnat: { ...notices, SaleOptOut: 2, SharingOptOut: 2, TargetedAdvertisingOptOut: 2 } }) },
  usca_sharing_opt_out: { expect: { SaleOptOut: 2, SharingOptOut: 1 },
    ...gpp({ usca: { SaleOptOutNotice: 1, SharingOptOutNotice: 1, SensitiveDataLimitUseNotice: 1,
      SaleOptOut: 2, SharingOptOut: 1 } }) },
  usca_not_opted_out: { expect: { SaleOptOut: 2, SharingOptOut: 2 },
    ...gpp({ usca: { SaleOptOutNotice: 1, SharingOptOutNotice: 1, SensitiveDataLimitUseNotice: 1,
      SaleOptOut: 2, SharingOptOut: 2 } }) },
  tcfeu_and_usnat_opt_out: { expect: { SaleOptOut: 2, SharingOptOut: 2, TargetedAdvertisingOptOut: 1 },
    ...gpp({ tcfeuv2: { PurposeConsents: [true, false, false, false, false, false, true] },
      usnat: { ...notices, SaleOptOut: 2, SharingOptOut: 2, TargetedAdvertisingOptOut: 1 } }) },
};

const meta = { generator: "tools/consent-fixtures/generate.mjs",
  "@iabtcf/core": "1.5.6", "@iabgpp/cmpapi": "3.2.0" };
writeFileSync(join(outDir, "tcf.json"), JSON.stringify({ meta, cases: tcf }, null, 1) + "\n");
writeFileSync(join(outDir, "gpp.json"), JSON.stringify({ meta, cases: gppCases }, null, 1) + "\n");
console.log(`wrote ${Object.keys(tcf).length} TCF and ${Object.keys(gppCases).length} GPP cases to ${outDir}`);
