"""The field-text encoder: tokenizer, both teacher paths, TinyBERT distillation, the invariant."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertForMaskedLM, BertModel, BertTokenizer, GPT2Config, GPT2LMHeadModel

from ml.configs import BertShape, DistillConfig, EncoderConfig, MlmConfig, TokenizerConfig, load_profile
from ml.text.batches import pad_batch, tokenize_corpus
from ml.text.build import build_encoder
from ml.text.distill import GeneralDistillation, distill_student, layer_map
from ml.text.encoder import FieldEncoder, parameter_count
from ml.text.teacher import TeacherCheckpointError, bert_config, load_teacher_checkpoint, whole_word_mask
from ml.text.tokenizer import train_wordpiece

# Field text keys as the marts write them: lower case, unaccented, one field value each.
PLACES = [
    "hospital general de mexico", "casa de empeno prendamex centro", "farmacia san pablo del valle",
    "aeropuerto internacional benito juarez t1", "escuela primaria benito juarez", "casino royal yak",
    "oxxo centro", "tacos el guero", "bodega aurrera express del sur", "panales huggies etapa 3",
    "formula infantil 800 g", "sopa instantanea de pollo", "recarga de 20", "cigarros sueltos",
    "vino tinto importado reserva", "sushi omakase polanco", "colonia lomas de chapultepec",
    "ampliacion san juan bautista", "unidad habitacional sagrado corazon", "calle 5 de mayo 123 colonia centro",
]
CORPUS = [f"{a} {b}" if i % 3 else a for i, (a, b) in enumerate(zip(PLACES * 6, reversed(PLACES * 6)))]
CORPUS = sorted(set(CORPUS + PLACES))

TINY = EncoderConfig(
    tokenizer=TokenizerConfig(vocab_size=300, min_frequency=1, max_length=24),
    teacher=BertShape(num_hidden_layers=2, hidden_size=32, num_attention_heads=2, intermediate_size=64),
    mlm=MlmConfig(epochs=4, batch_size=16, learning_rate=3e-3),
    student=BertShape(num_hidden_layers=1, hidden_size=16, num_attention_heads=2, intermediate_size=32),
    distill=DistillConfig(epochs=4, batch_size=16, learning_rate=3e-3),
    encode_batch_size=8,
    device="cpu",
)


@pytest.fixture(scope="module")
def scratch_build(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("encoder-scratch")
    return out, build_encoder(CORPUS, TINY, seed=3, out_dir=out)


def _tiny_checkpoint(path: Path, pad_token_id: int = 1) -> Path:
    """A BETO-like checkpoint: BertForMaskedLM with its own vocabulary whose [PAD] id is 1."""
    words = sorted({w for text in CORPUS for w in text.split()})
    vocab = ["[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]"] + words
    tokenizer = BertTokenizer(
        vocab={token: i for i, token in enumerate(vocab)}, pad_token="[PAD]", do_lower_case=True, model_max_length=24
    )
    assert tokenizer.pad_token_id == pad_token_id
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64, pad_token_id=pad_token_id,
    )
    torch.manual_seed(0)
    BertForMaskedLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def test_scratch_teacher_path_trains_tokenizer_teacher_and_student(scratch_build) -> None:
    out, report = scratch_build
    tokenizer = AutoTokenizer.from_pretrained(str(out / "student"), local_files_only=True)
    assert tokenizer.convert_ids_to_tokens(tokenizer("casa de empeno")["input_ids"])[0] == "[CLS]"
    assert tokenizer.get_vocab() == AutoTokenizer.from_pretrained(str(out / "teacher")).get_vocab()
    teacher = BertModel.from_pretrained(str(out / "teacher"), local_files_only=True)
    student = BertModel.from_pretrained(str(out / "student"), local_files_only=True)
    assert (teacher.config.num_hidden_layers, teacher.config.hidden_size) == (2, 32)
    assert (student.config.num_hidden_layers, student.config.hidden_size) == (1, 16)
    assert report["params_ratio"] == pytest.approx(report["student"]["params"] / report["teacher"]["params"])
    assert report["params_ratio"] < 1
    assert report["layer_map"] == [1]
    assert report["encode_seconds_per_text"]["teacher"] > 0 and report["encode_seconds_per_text"]["student"] > 0
    # both stages learned: the end of each curve is below its start
    curves = report["curves"]
    for name in ("mlm", "attention_loss", "hidden_loss"):
        assert np.mean(curves[name][-3:]) < np.mean(curves[name][:3]), name
    saved = json.loads((out / "encoder_report.json").read_text())
    assert saved["corpus"]["distinct_texts"] == len(CORPUS)
    assert (out / "encoder_losses.png").stat().st_size > 10_000


def test_checkpoint_teacher_path_uses_its_tokenizer_and_pad_id(tmp_path) -> None:
    checkpoint = _tiny_checkpoint(tmp_path / "beto-like")
    config = EncoderConfig(**{**TINY.__dict__, "teacher_checkpoint": str(checkpoint)})
    report = build_encoder(CORPUS, config, seed=3, out_dir=tmp_path / "encoder")
    assert report["teacher_source"].startswith("checkpoint")
    assert "mlm" not in report["final_loss"]  # a checkpoint teacher is not pretrained again
    teacher_tok = AutoTokenizer.from_pretrained(str(checkpoint))
    student_tok = AutoTokenizer.from_pretrained(str(tmp_path / "encoder" / "student"))
    assert student_tok.get_vocab() == teacher_tok.get_vocab()
    assert student_tok.pad_token_id == 1
    # The checkpoint's weights are the teacher, unchanged.
    original = BertModel.from_pretrained(str(checkpoint), add_pooling_layer=False)
    saved = BertModel.from_pretrained(str(tmp_path / "encoder" / "teacher"), add_pooling_layer=False)
    for (name, a), b in zip(original.state_dict().items(), saved.state_dict().values()):
        assert torch.equal(a, b), name
    # With pad id 1, a mask from `ids != 0` would attend to padding; the tokenizer's does not.
    encoder = FieldEncoder.from_pretrained(tmp_path / "encoder" / "student")
    batch = encoder.tokenize(["oxxo centro", "hospital general de mexico"])
    assert batch["input_ids"][0, -1].item() == 1 and batch["attention_mask"][0, -1].item() == 0


def test_checkpoint_errors_name_the_path_and_what_was_found(tmp_path) -> None:
    with pytest.raises(TeacherCheckpointError, match=f"{tmp_path / 'nope'}: no such directory"):
        load_teacher_checkpoint(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TeacherCheckpointError, match="no config.json"):
        load_teacher_checkpoint(tmp_path / "empty")
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=50)).save_pretrained(tmp_path / "gpt2")
    with pytest.raises(TeacherCheckpointError, match=r"gpt2: found model_type='gpt2' \(architectures \['GPT2LMHeadModel'\]"):
        load_teacher_checkpoint(tmp_path / "gpt2")
    checkpoint = _tiny_checkpoint(tmp_path / "no-weights")
    (checkpoint / "model.safetensors").unlink()
    with pytest.raises(TeacherCheckpointError, match="no weights"):
        load_teacher_checkpoint(checkpoint)


def test_embedding_is_independent_of_the_batch(scratch_build) -> None:
    out, _ = scratch_build
    encoder = FieldEncoder.from_pretrained(out / "student")
    text = "casa de empeno prendamex centro"
    alone = encoder.encode([text])[0]
    neighbours = ["oxxo", "calle 5 de mayo 123 colonia centro " * 3, "tacos el guero", "sushi omakase polanco"]
    for batch_size in (1, 2, 3, 8):
        batch = encoder.encode(neighbours[:2] + [text] + neighbours[2:], batch_size=batch_size)
        np.testing.assert_allclose(batch[2], alone, atol=1e-5)
    # and it is not trivially constant: different texts, different vectors
    assert np.abs(encoder.encode(["oxxo"])[0] - alone).max() > 1e-3
    # a user-month without any field text asks for no vectors
    assert encoder.encode([]).shape == (0, encoder.dim)


def test_attention_and_hidden_losses_ignore_padding(scratch_build) -> None:
    out, _ = scratch_build
    teacher = BertModel.from_pretrained(str(out / "teacher"), add_pooling_layer=False)
    student = BertModel.from_pretrained(str(out / "student"), add_pooling_layer=False)
    distillation = GeneralDistillation(teacher, student).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(out / "student"))
    ids = tokenizer(["hospital general de mexico"])["input_ids"][0]
    alone = pad_batch(tokenizer, [ids])
    padded = pad_batch(tokenizer, [ids, ids + ids[1:]])  # the second text forces padding on the first
    assert padded["attention_mask"][0].sum() < padded["attention_mask"].shape[1]
    with torch.no_grad():
        alone_out = distillation(alone["input_ids"], alone["attention_mask"])
        only_first = {k: v[:1] for k, v in padded.items()}
        padded_out = distillation(only_first["input_ids"], only_first["attention_mask"])
    assert padded_out.attention_loss.item() == pytest.approx(alone_out.attention_loss.item(), rel=1e-5)
    assert padded_out.hidden_loss.item() == pytest.approx(alone_out.hidden_loss.item(), rel=1e-5)


def test_whole_word_masking_masks_every_piece_of_a_word() -> None:
    tokenizer = train_wordpiece(CORPUS, TokenizerConfig(vocab_size=120, min_frequency=1), Path("/tmp/ww-tok"))
    corpus = tokenize_corpus(tokenizer, ["casa de empeno prendamex centro"], 24)
    word_ids = corpus.word_ids[0]
    assert len(set(w for w in word_ids if w is not None)) < len([w for w in word_ids if w is not None])  # split words
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        masked = whole_word_mask(corpus.input_ids[0], word_ids, 0.3, True, generator)
        for word in set(w for w in word_ids if w is not None):
            pieces = [masked[i] for i, w in enumerate(word_ids) if w == word]
            assert all(pieces) or not any(pieces)
        assert not masked[0] and not masked[-1]  # [CLS] and [SEP] are never masked


def test_production_shapes_distil_on_cpu(tmp_path) -> None:
    profile = load_profile("production")
    student_shape = profile.encoder.student
    assert (student_shape.num_hidden_layers, student_shape.hidden_size, student_shape.intermediate_size,
            student_shape.num_attention_heads) == (4, 312, 1200, 12)
    assert layer_map(12, 4) == [2, 5, 8, 11]
    # Parameter counts with BETO's 31,002-token vocabulary: ~110M teacher, ~14.5M student (13%).
    beto_vocab = type("Vocab", (), {"__len__": lambda self: 31002, "pad_token_id": 1})()
    n_teacher = parameter_count(BertModel(bert_config(profile.encoder.teacher, beto_vocab, 512), add_pooling_layer=False))
    n_student = parameter_count(BertModel(bert_config(student_shape, beto_vocab, 512), add_pooling_layer=False))
    assert 105e6 < n_teacher < 112e6 and 14.0e6 < n_student < 15.0e6
    assert 0.12 < n_student / n_teacher < 0.14

    tokenizer = train_wordpiece(CORPUS, TokenizerConfig(vocab_size=300, min_frequency=1), tmp_path / "tok")
    corpus = tokenize_corpus(tokenizer, CORPUS[:16], 24)
    teacher = BertModel(bert_config(profile.encoder.teacher, tokenizer, 24), add_pooling_layer=False)
    losses: list[float] = []
    student = distill_student(
        teacher, tokenizer, corpus, student_shape, DistillConfig(epochs=3, batch_size=8, learning_rate=5e-4),
        24, seed=0, device=torch.device("cpu"), on_step=lambda step, a, h: losses.append(a + h),
    )
    assert len(losses) == 6 and all(np.isfinite(losses))
    assert losses[-1] < losses[0]
    assert (student.config.num_hidden_layers, student.config.hidden_size) == (4, 312)


def test_profiles_reject_unknown_keys(tmp_path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text("encoder:\n  student:\n    hiden_size: 128\n")
    with pytest.raises(ValueError, match=r"typo.yaml.encoder.student: unknown key\(s\) \['hiden_size'\]"):
        load_profile(path)
    with pytest.raises(FileNotFoundError, match="known: .*demo.*production"):
        load_profile("nonexistent")


@pytest.mark.slow
def test_corpus_holds_no_text_first_seen_out_of_time(demo_build, spark) -> None:
    from ml.text.corpus import novelty_by_month, training_corpus

    keys = spark.sql(
        """
        select text_key, bool_or(is_train) as in_training
        from features.user_month_sequences
        lateral view explode(
            concat(ride_origin_text_keys, ride_place_text_keys, delivery_store_text_keys,
                   flatten(delivery_item_text_keys))
        ) slots as text_key
        where text_key is not null
        group by text_key
        """
    ).toPandas()
    training_keys = set(keys.loc[keys.in_training, "text_key"])
    out_of_time_only = set(keys.loc[~keys.in_training, "text_key"])
    corpus = training_corpus(spark)
    assert corpus == sorted(corpus) and len(corpus) == len(set(corpus))
    assert set(corpus) == training_keys
    assert out_of_time_only, "the test population should have texts first seen out of time"
    assert not out_of_time_only & set(corpus)

    novelty = novelty_by_month(spark)
    assert [m["is_train"] for m in novelty][:1] == [True]
    first, *later = novelty
    assert first["n_new_keys"] == first["n_distinct_keys"]  # every key is new in the first month
    assert sum(m["n_new_keys"] for m in novelty) == len(keys)
    assert all(m["n_unseen_in_training_slots"] > 0 for m in later if not m["is_train"])


def test_wordpiece_vocabulary_is_reproducible(tmp_path) -> None:
    """tokenizers' trainer alone numbers continuation pieces in hash-map order (tokenizers#1794)."""
    config = TokenizerConfig(vocab_size=150, min_frequency=1)
    vocabularies = {
        tuple(sorted(train_wordpiece(CORPUS, config, tmp_path / str(i)).get_vocab().items())) for i in range(4)
    }
    assert len(vocabularies) == 1
