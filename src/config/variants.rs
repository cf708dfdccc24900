//! `IDENTIFY_PROMPT_VARIANTS`: the prompt variants in play, the model each runs on, and
//! each one's share of callers. The prompts' text is `vision::variants`'; which variant a
//! caller is dealt is decided there too.

/// The prompts this build can ask with, by the names configuration gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    CatalogV1,
    CatalogV2,
    CuesV1,
    DescribeV1,
}

impl Prompt {
    pub const ALL: [Prompt; 4] = [
        Prompt::CatalogV1,
        Prompt::CatalogV2,
        Prompt::CuesV1,
        Prompt::DescribeV1,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Prompt::CatalogV1 => "catalog-v1",
            Prompt::CatalogV2 => "catalog-v2",
            Prompt::CuesV1 => "cues-v1",
            Prompt::DescribeV1 => "describe-v1",
        }
    }

    fn named(name: &str) -> Option<Prompt> {
        Prompt::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// A variant in play: its prompt, the model it runs on, and its share of callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub prompt: Prompt,
    /// `None`: the deployment's `FIREWORKS_MODEL`.
    pub model: Option<String>,
    pub weight: u32,
}

impl Variant {
    /// The prompt's name, as logs, metrics and records give it.
    pub fn name(&self) -> &'static str {
        self.prompt.name()
    }
}

/// Parses `name[@model]:weight,...`: known names, each once, weights adding up to 100.
pub fn parse(spec: &str) -> Result<Vec<Variant>, String> {
    let mut variants = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (head, weight) = match part.rsplit_once(':') {
            Some((head, weight)) => (head, weight),
            None => (part, "100"),
        };
        let weight: u32 = weight
            .trim()
            .parse()
            .map_err(|_| format!("`{part}`: the weight must be a whole number"))?;
        let (name, model) = match head.split_once('@') {
            Some((name, model)) if !model.trim().is_empty() => {
                (name.trim(), Some(model.trim().to_owned()))
            }
            Some(_) => return Err(format!("`{part}`: a model must follow `@`")),
            None => (head.trim(), None),
        };
        let prompt = Prompt::named(name).ok_or_else(|| {
            let known: Vec<&str> = Prompt::ALL.iter().map(|p| p.name()).collect();
            format!("`{name}` is not a variant (known: {})", known.join(", "))
        })?;
        if variants
            .iter()
            .any(|v: &Variant| v.prompt == prompt && v.model == model)
        {
            return Err(format!("`{part}` is listed twice"));
        }
        variants.push(Variant {
            prompt,
            model,
            weight,
        });
    }
    let total: u32 = variants.iter().map(|v| v.weight).sum();
    if variants.is_empty() {
        return Err("names no variant".into());
    }
    if total != 100 {
        return Err(format!("weights add up to {total}, not 100"));
    }
    Ok(variants)
}

/// Parses `name[@model],...` for a run that tries every listed variant on every photo
/// (`eval --variants`): weights, if given, are ignored and each gets an equal share.
pub fn parse_unweighted(spec: &str) -> Result<Vec<Variant>, String> {
    let heads: Vec<&str> = spec
        .split(',')
        .map(|part| part.trim().split(':').next().unwrap_or_default())
        .filter(|head| !head.is_empty())
        .collect();
    let share = 100 / heads.len().max(1);
    let weighted: Vec<String> = heads
        .iter()
        .enumerate()
        .map(|(i, head)| {
            let rest = 100 - share * (heads.len() - 1);
            format!("{head}:{}", if i == 0 { rest } else { share })
        })
        .collect();
    parse(&weighted.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_evaluation_lists_variants_without_weights() {
        let variants =
            parse_unweighted("catalog-v2, cues-v1@accounts/x/models/y:7, describe-v1").unwrap();
        let got: Vec<_> = variants
            .iter()
            .map(|v| (v.name(), v.model.as_deref(), v.weight))
            .collect();
        assert_eq!(
            got,
            [
                ("catalog-v2", None, 34),
                ("cues-v1", Some("accounts/x/models/y"), 33),
                ("describe-v1", None, 33)
            ]
        );
        assert!(parse_unweighted("nope").unwrap_err().contains("`nope`"));
    }

    #[test]
    fn specs_name_known_variants_once_with_weights_of_100() {
        let v = parse("catalog-v2:80, cues-v1@accounts/fireworks/models/other:20").unwrap();
        assert_eq!(
            v[1].model.as_deref(),
            Some("accounts/fireworks/models/other")
        );
        assert_eq!(parse("describe-v1").unwrap()[0].weight, 100);
        for bad in [
            "",
            "nope:100",
            "catalog-v2:50",
            "catalog-v2:x",
            "cues-v1@:100",
            "catalog-v2:50,catalog-v2:50",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
