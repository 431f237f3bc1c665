"""The Python tokenizer follows the input conventions the C++ engine implements too
(tools/attnviz_tokenize.py states them): unk, refusal naming unknown tokens, truncation,
specials, padding and its mask, lower-casing, splitting, decoding."""

import os
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from attnviz_tokenize import TokenizeError, Tokenizer  # noqa: E402

CHARS = ["<pad>", "<bos>", "<eos>", "a", "b", "c", " ", "é"]


def make(vocab=CHARS, level="char", unk=None, lowercase=False, src_bos=False, src_eos=True,
         pad_src=False, mask=False, max_len=6, tgt_vocab=None):
    tok = {"level": level, "lowercase": lowercase, "src_vocab": vocab,
           "specials": {"pad": 0, "bos": 1, "eos": 2, "unk": unk},
           "src_bos": src_bos, "src_eos": src_eos, "pad_src": pad_src,
           "src_key_padding_mask": mask}
    if tgt_vocab is not None:
        tok["tgt_vocab"] = tgt_vocab
    return Tokenizer({"tokenizer": tok, "config": {"max_len": max_len, "max_output_len": max_len,
                                                    "architecture": "seq2seq"}})


class TokenizerTest(unittest.TestCase):

    def test_char_level_with_eos(self):
        self.assertEqual(make().encode_source("abc"), ([3, 4, 5, 2], None, 0))

    def test_whitespace_and_non_ascii_are_characters(self):
        self.assertEqual(make().encode_source(" é")[0], [6, 7, 2])

    def test_bos_and_eos(self):
        ids, _, _ = make(src_bos=True, src_eos=True).encode_source("ab")
        self.assertEqual(ids, [1, 3, 4, 2])
        ids, _, _ = make(src_bos=True, src_eos=False).encode_source("ab")
        self.assertEqual(ids, [1, 3, 4])

    def test_unknown_without_unk_is_refused_naming_each_token_once(self):
        with self.assertRaises(TokenizeError) as err:
            make().encode_source("axbyx")
        self.assertIn("'x', 'y'", str(err.exception))

    def test_unknown_in_the_cut_off_part_is_still_refused(self):
        with self.assertRaises(TokenizeError):
            make(max_len=3).encode_source("abcabcz")

    def test_unknown_becomes_unk(self):
        vocab = CHARS + ["<unk>"]
        ids, _, _ = make(vocab=vocab, unk=8).encode_source("axb")
        self.assertEqual(ids, [3, 8, 4, 2])

    def test_truncation_leaves_room_for_specials(self):
        ids, _, cut = make(max_len=4, src_bos=True).encode_source("abcab")
        self.assertEqual(ids, [1, 3, 4, 2])
        self.assertEqual(cut, 3)

    def test_padding_without_mask(self):
        ids, mask, _ = make(pad_src=True).encode_source("ab")
        self.assertEqual(ids, [3, 4, 2, 0, 0, 0])
        self.assertIsNone(mask)

    def test_padding_with_mask_marks_every_pad_id(self):
        ids, mask, _ = make(pad_src=True, mask=True).encode_source("ab")
        self.assertEqual(ids, [3, 4, 2, 0, 0, 0])
        self.assertEqual(mask, [False, False, False, True, True, True])
        words = ["<pad>", "<bos>", "<eos>", "the"]
        ids, mask, _ = make(vocab=words, level="word", pad_src=True, mask=True).encode_source("the <pad>")
        self.assertEqual(ids, [3, 0, 2, 0, 0, 0])
        self.assertEqual(mask, [False, True, False, True, True, True])

    def test_full_length_source_gets_no_padding(self):
        ids, mask, cut = make(pad_src=True, mask=True, max_len=3).encode_source("abc")
        self.assertEqual((ids, mask, cut), ([3, 4, 2], [False, False, False], 1))

    def test_text_without_tokens_is_refused(self):
        with self.assertRaises(TokenizeError):
            make().encode_source("")
        words = ["<pad>", "<bos>", "<eos>", "the"]
        with self.assertRaises(TokenizeError):
            make(vocab=words, level="word").encode_source(" \t\n")

    def test_lowercase_is_ascii_only(self):
        tok = make(vocab=CHARS + ["É"], lowercase=True)
        self.assertEqual(tok.encode_source("AbÉ")[0], [3, 4, 8, 2])

    def test_word_level_splits_on_ascii_whitespace(self):
        words = ["<pad>", "<bos>", "<eos>", "the", "cat", "<unk>"]
        tok = make(vocab=words, level="word", unk=5, max_len=8)
        self.assertEqual(tok.split(" the\tcat\n\r the "), ["the", "cat", "the"])
        self.assertEqual(tok.encode_source("the dog  cat")[0], [3, 5, 4, 2])
        self.assertEqual(tok.split("the\u00a0cat"), ["the\u00a0cat"])  # NBSP is not ASCII

    def test_target_is_bos_plus_tokens_truncated_to_max_len(self):
        tok = make(max_len=4, tgt_vocab=["<pad>", "<bos>", "<eos>", "x", "y"])
        self.assertEqual(tok.encode_target("xy"), ([1, 3, 4], 0))
        self.assertEqual(tok.encode_target("xyxyx"), ([1, 3, 4, 3], 2))
        self.assertEqual(tok.encode_target(""), ([1], 0))

    def test_decode_drops_specials_and_joins_by_level(self):
        self.assertEqual(make().decode([1, 3, 0, 4, 2]), "ab")
        words = ["<pad>", "<bos>", "<eos>", "the", "cat", "<unk>"]
        self.assertEqual(make(vocab=words, level="word", unk=5).decode([3, 5, 4, 2]), "the cat")


if __name__ == "__main__":
    unittest.main()
