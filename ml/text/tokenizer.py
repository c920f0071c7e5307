"""The tokenizer every encoder of a model version shares.

With a teacher checkpoint the teacher's own tokenizer is used; without one a WordPiece
vocabulary is trained on the corpus. The student always uses the teacher's tokenizer, so
teacher and student see the same token positions and their attention maps can be compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tokenizers.implementations import BertWordPieceTokenizer
from transformers import AutoTokenizer, BertTokenizer, PreTrainedTokenizerBase

from ml.configs import TokenizerConfig

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_wordpiece(texts: Sequence[str], config: TokenizerConfig, out_dir: Path) -> PreTrainedTokenizerBase:
    """Train a lower-case WordPiece vocabulary on ``texts`` and save it in the Hugging Face format.

    ``AutoTokenizer.from_pretrained(out_dir)`` loads the result. Keys are already lower case
    and unaccented, so the normaliser changes nothing on them; it keeps raw text usable too.
    """
    trainer = BertWordPieceTokenizer(clean_text=True, handle_chinese_chars=False, strip_accents=True, lowercase=True)
    texts = list(texts)
    # tokenizers' WordPiece trainer numbers the "##x" continuation pieces in hash-map order, which
    # breaks ties between equally frequent merges differently from run to run (huggingface/
    # tokenizers#1794). Numbering them up front, sorted, makes the vocabulary reproducible.
    normalize = trainer._tokenizer.normalizer.normalize_str
    alphabet = sorted({c for text in texts for c in normalize(text) if not c.isspace()})
    trainer.train_from_iterator(
        texts,
        vocab_size=config.vocab_size,
        min_frequency=config.min_frequency,
        special_tokens=SPECIAL_TOKENS + [f"##{c}" for c in alphabet],
        show_progress=False,
    )
    tokenizer = BertTokenizer(
        vocab=trainer.get_vocab(),
        do_lower_case=True,
        strip_accents=True,
        tokenize_chinese_chars=False,
        model_max_length=config.max_length,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(out_dir)
    return load_tokenizer(out_dir)


def load_tokenizer(path: Path) -> PreTrainedTokenizerBase:
    """A tokenizer saved with ``save_pretrained``, from a local directory only (no hub)."""
    return AutoTokenizer.from_pretrained(str(path), local_files_only=True)
