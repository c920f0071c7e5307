"""The field-text encoder: text keys in, one fixed-size vector per key out.

The unit of text is one field value (a ride's pickup or drop-off place, a store name, one
SKU title), keyed by the SQL macro ``key_of_clean_text`` in the dbt marts. Modules, in the
order the encoder is built:

- ``corpus``: the distinct keys of the training months, read from ``features.field_texts``;
- ``tokenizer``: the teacher's tokenizer, or a WordPiece trained on the corpus;
- ``teacher``: a local BERT checkpoint, or a BERT pretrained from scratch with masked LM;
- ``distill``: TinyBERT general distillation of the teacher into the student;
- ``encoder``: ``FieldEncoder``, masked mean pooling, the batch-independence invariant;
- ``build``: the whole stage, its report and plot.
"""
