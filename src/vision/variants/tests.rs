use super::*;
use crate::config::variants::parse;

fn catalog() -> Vec<CatalogEntry> {
    vec![CatalogEntry {
        id: "leg_press".into(),
        name: "Seated Leg Press".into(),
        synonyms: vec!["sled press".into()],
        visual_cues: vec!["angled sled".into()],
    }]
}

#[test]
fn every_builder_lists_the_catalog_and_asks_for_json() {
    for p in Prompt::ALL {
        let prompt = builder(p).system_prompt(&catalog());
        assert!(
            prompt.contains("Seated Leg Press: sled press"),
            "{}",
            p.name()
        );
        assert!(prompt.contains("\"machine\""), "{}", p.name());
        assert_eq!(
            prompt.contains("angled sled"),
            p.name() != "catalog-v2",
            "{}",
            p.name()
        );
    }
}

#[test]
fn assignment_is_deterministic_and_follows_the_weights() {
    let variants = parse("catalog-v2:80,cues-v1:20").unwrap();
    let mut counts = [0; 2];
    for i in 0..10_000 {
        let key = format!("user-{i}");
        let first = assign("exp", &key, &variants);
        assert_eq!(first, assign("exp", &key, &variants));
        counts[usize::from(first.name() == "cues-v1")] += 1;
    }
    assert!((7_600..=8_400).contains(&counts[0]), "{counts:?}");
    // Another experiment deals again.
    let moved = (0..1000)
        .filter(|i| {
            let key = format!("user-{i}");
            assign("exp", &key, &variants) != assign("exp-2", &key, &variants)
        })
        .count();
    assert!(moved > 100, "{moved}");
}
