"""Training pairs from the corpus alone (``tuning.pairs``): the rules on hand-written chunks, no model."""
from __future__ import annotations

from localkb.tuning.pairs import FINETUNE_SENTENCES, corpus_pairs, near_identical

PARAGRAPH = ("The harbour bridge opened in 1932 after eight years of work. Its arch spans 503 metres between "
             "two granite pylons. Workers riveted six million rivets by hand during the build. Tolls paid for "
             "the loan until the debt was cleared in 1988.")
ONE_SENTENCE = "A single sentence chunk that says only this one thing about the ferry."
TWO_SENTENCES = "The ferry leaves at nine every morning. It returns when the tide turns in the afternoon."


def test_several_sentences_per_chunk_each_to_its_own_chunk() -> None:
    texts = {"a": PARAGRAPH, "b": ONE_SENTENCE}
    pairs = corpus_pairs(texts, sentences_per_chunk=FINETUNE_SENTENCES)
    from_a = [p for p in pairs if p.positive == "a" and p.kind == "sentence"]
    assert len(from_a) == 4  # every sentence of the paragraph (fewer than the cap) is a pseudo-query
    assert all(p.query in PARAGRAPH and p.query != PARAGRAPH for p in from_a)
    assert all(p.positive_text is None for p in from_a)  # the sentence stays in its passage
    assert len({p.query for p in from_a}) == 4
    # the old rule: one sentence per chunk with no other signal
    old = [p for p in corpus_pairs(texts) if p.positive == "a"]
    assert len(old) == 1 and old[0].kind == "sentence"


def test_cap_and_seed_fix_which_sentences() -> None:
    texts = {"a": PARAGRAPH}
    two = corpus_pairs(texts, sentences_per_chunk=2)
    assert len(two) == 2
    assert [p.query for p in two] == [p.query for p in corpus_pairs(texts, sentences_per_chunk=2)]
    assert all(p.query in PARAGRAPH and p.kind == "sentence" for p in two)


def test_near_identical_query_dropped() -> None:
    assert near_identical(ONE_SENTENCE, ONE_SENTENCE + " ")
    assert near_identical("The ferry leaves at nine", "the FERRY leaves at nine!")
    assert not near_identical("The ferry leaves at nine every morning.", TWO_SENTENCES)
    assert not near_identical("", "anything")
    # a sentence holding the whole chunk's words is the chunk: dropped, its short neighbour kept
    long = ("Riveters from Glasgow and Sydney worked the northern arch through the wet winter of 1930 while "
            "cranes lifted steel from barges moored below.")
    pairs = corpus_pairs({"d": long + " Cranes lifted steel from barges."}, sentences_per_chunk=FINETUNE_SENTENCES)
    assert [p.query for p in pairs] == ["Cranes lifted steel from barges."]
    # a chunk whose only sentence is the chunk gives no sentence pair; a two-sentence chunk gives two
    pairs = corpus_pairs({"b": ONE_SENTENCE, "c": TWO_SENTENCES}, sentences_per_chunk=FINETUNE_SENTENCES)
    assert not [p for p in pairs if p.positive == "b" and p.kind == "sentence"]
    assert sorted(p.query for p in pairs if p.positive == "c") == sorted(
        ["The ferry leaves at nine every morning.", "It returns when the tide turns in the afternoon."])


def test_other_signals_kept_beside_sentences() -> None:
    text = "# Tolls\n\nTolls paid for the loan until 1988. The debt was cleared after fifty years of tolls."
    pairs = corpus_pairs({"t": text}, sentences_per_chunk=FINETUNE_SENTENCES)
    kinds = sorted(p.kind for p in pairs)
    assert kinds == ["heading", "sentence", "sentence"]
    assert next(p for p in pairs if p.kind == "heading").query == "Tolls"
