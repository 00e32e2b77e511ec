"""The default adaptation taxonomy (see the project's taxonomy notes).

Each category has a slug, what it covers, its typical words and what it is not.
`OFF_TOPIC` is exclusive: a paper labelled off-topic has no other label.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Category:
    slug: str
    covers: str
    typical_words: tuple[str, ...] = field(default_factory=tuple)
    not_this: str = ""


OFF_TOPIC = "off-topic"

DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category(
        "lora",
        "low-rank or decomposed updates of pretrained weights: LoRA, QLoRA, DoRA, "
        "SVD-initialized adapters, multi-head low-rank variants, theory of LoRA",
        ("low-rank", "rank-r", "LoRA", "QLoRA", "decomposition", "singular values"),
        "bottleneck modules (adapters)",
    ),
    Category(
        "adapters",
        "small trainable modules inserted into a frozen network: bottleneck, parallel or side "
        "adapters, adapter fusion, mixtures or routing of adapters",
        ("adapter", "bottleneck", "frozen backbone", "plug-in module"),
        "learned input tokens (prompt-tuning)",
    ),
    Category(
        "prompt-tuning",
        "learned continuous prompts, prefixes or extra tokens with the backbone frozen: soft "
        "prompts, prefix tuning, visual/text prompt learning for CLIP-like models",
        ("soft prompt", "prompt learning", "learnable tokens", "prefix", "CoOp"),
        "hand-written prompts and demonstrations (in-context-learning)",
    ),
    Category(
        "selective-tuning",
        "updates a chosen subset of the existing weights: sparse masks, lottery tickets, "
        "bias-only or layer-wise tuning, mask tuning, linear probing, model reprogramming",
        ("sparse", "mask", "subset of parameters", "lottery ticket", "linear probe"),
        "new modules (adapters)",
    ),
    Category(
        "fine-tuning",
        "further training of a pretrained model, fully or partly, for a downstream task or "
        "application, where no more specific method category applies; continued pre-training; "
        "architecture conversion by training",
        ("fine-tune", "continued pre-training", "downstream task", "transfer learning"),
        "a domain shift as the framing (domain-adaptation)",
    ),
    Category(
        "instruction-tuning",
        "supervised fine-tuning of (L)LMs on instruction-response data, and studies of how "
        "instruction following emerges",
        ("instruction tuning", "SFT", "instruction-following", "responses"),
    ),
    Category(
        "data-selection",
        "choosing, filtering, pruning, mixing or weighting the training examples used to "
        "adapt a model",
        ("data selection", "dataset pruning", "data quality", "diversity of data"),
        "model pruning (compression)",
    ),
    Category(
        "domain-adaptation",
        "transfer to a shifted target domain, language or specialty before deployment: "
        "unsupervised DA, domain generalization, domain-specific or low-resource-language "
        "models, cross-lingual transfer",
        (
            "domain shift",
            "target domain",
            "source domain",
            "in-domain",
            "low-resource",
            "cross-lingual",
            "domain-specific",
        ),
        "adaptation on test inputs during inference (test-time-adaptation)",
    ),
    Category(
        "test-time-adaptation",
        "adapts during inference from unlabeled test inputs: TTA, online adaptation, "
        "normalization-statistics recalibration, test-time label-shift correction",
        ("test-time", "online", "unlabeled target", "batch statistics", "entropy minimization"),
    ),
    Category(
        "continual-learning",
        "learns a sequence of tasks or classes without forgetting: class-incremental, "
        "few-shot class-incremental, lifelong instruction tuning",
        ("incremental", "continual", "lifelong", "catastrophic forgetting", "sequence of tasks"),
        "forgetting mentioned only as a side effect",
    ),
    Category(
        "in-context-learning",
        "adapts behaviour through the input at inference, with no weight update: "
        "demonstrations, few-shot prompting, example selection, black-box prompt optimization",
        ("in-context", "demonstrations", "few-shot prompting", "black-box"),
        "learned soft prompts (prompt-tuning)",
    ),
    Category(
        "model-composition",
        "combines existing models or modules: task vectors and task arithmetic, model merging, "
        "logit fusion, routing among experts or adapters, mixture-of-experts of specialized "
        "models, weak-to-strong transfer, auxiliary scorers",
        ("task vector", "merging", "arithmetic", "experts", "routing", "fusion", "composition"),
    ),
    Category(
        "compression",
        "makes models cheaper to run or adapt: pruning, distillation for size, quantization, "
        "dynamic or conditional computation",
        ("pruning", "FLOPs", "compression", "distillation", "efficient inference"),
        "selecting training data (data-selection)",
    ),
    Category(
        "few-shot-meta",
        "learns to adapt from a handful of labeled examples: meta-learning, few-shot learners, "
        "data-efficient generalists",
        ("meta-learning", "few-shot", "episodes", "fast adaptation", "low-shot"),
        "few-shot prompting of an LLM (in-context-learning)",
    ),
    Category(
        "personalization",
        "adapts a generative model to one subject, speaker, actor, user or input instance",
        ("speaker-adaptive", "subject", "identity", "instance-specific", "personalized"),
    ),
    Category(
        OFF_TOPIC,
        '"adaptation" in another sense, or no model adaptation at all: neuroscience, adaptive '
        "optimizers, adaptive sampling algorithms, architectures or representations studied "
        "for themselves, generalist models used without adaptation",
        (),
        "anything above",
    ),
)

DEFAULT_SLUGS: tuple[str, ...] = tuple(c.slug for c in DEFAULT_CATEGORIES)


def category_order(slugs: list[str] | tuple[str, ...] | None = None) -> list[str]:
    """Slugs in taxonomy order, with any extra (user-defined) slugs before `off-topic`."""
    base = [s for s in DEFAULT_SLUGS if s != OFF_TOPIC]
    extra = sorted(s for s in (slugs or ()) if s not in DEFAULT_SLUGS)
    return base + extra + [OFF_TOPIC]
