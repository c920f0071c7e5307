{#
  Text cleaning shared by every staging model, all in the JVM (no Python UDF):

  clean_text(expr)   display text: Unicode NFC, emoji and other pictographs removed,
                     invisible format characters removed (byte-order mark, zero-width space
                     and joiner, soft hyphen: \\p{Cf}), every run of whitespace, Unicode
                     space (no-break space, U+3000, U+2028/2029) or control character (NUL,
                     tab, ...) turned into one space and trimmed, cut to var('max_text_length')
                     characters; empty -> null (so a city made only of no-break spaces is
                     null). NFC comes from ICU (shipped with Spark) through `reflect`, which is
                     slow and non-deterministic to the optimizer, so it is only called on the
                     rare strings that NFC can change: those with combining marks or canonical
                     singletons (Ω, K, Å signs, Hangul jamo). Strings with full-width forms
                     (ＨＯＳＰＩＴＡＬ, U+FF01-FF5E) get NFKC instead, which maps them to ASCII.
  text_key(expr)     dedupe/join key: clean_text, lower-case, Spanish/Portuguese accents
                     folded (á -> a, ñ -> n), anything but [a-z0-9] turned into one space.
                     Regex passes dominate staging time: derive keys of long text from the
                     already-cleaned column with key_of_clean_text instead of text_key.
#}
{% macro clean_text(expr) -%}
    nullif(
        left(
            trim(regexp_replace(
                regexp_replace(
                    case
                        when {{ expr }} rlike '[\\x{FF01}-\\x{FF5E}]'
                            then reflect('com.ibm.icu.text.Normalizer', 'compose', {{ expr }}, true)
                        when {{ expr }} rlike '[\\p{M}\\x{2126}\\x{212A}\\x{212B}\\x{1100}-\\x{11FF}]'
                            then reflect('com.ibm.icu.text.Normalizer', 'compose', {{ expr }}, false)
                        else {{ expr }}
                    end,
                    '[\\p{So}\\p{Sk}\\p{Cs}\\p{Co}\\p{Cf}\\x{FE0F}]', ''
                ),
                '[\\s\\p{Z}\\p{Cc}]+', ' '
            )),
            {{ var('max_text_length') }}
        ),
        ''
    )
{%- endmacro %}

{% macro text_key(expr) -%}
    {{ key_of_clean_text(clean_text(expr)) }}
{%- endmacro %}

{# key_of_clean_text(expr): text_key for text that already went through clean_text (cheaper). #}
{% macro key_of_clean_text(expr) -%}
    nullif(
        trim(regexp_replace(
            translate(lower({{ expr }}), 'áàâäãåéèêëíìîïóòôöõúùûüñç', 'aaaaaaeeeeiiiiooooouuuunc'),
            '[^a-z0-9]+', ' '
        )),
        ''
    )
{%- endmacro %}
