{#
  Text cleaning shared by every staging model, all in the JVM (no Python UDF):

  clean_text(expr)   display text: Unicode NFC (ICU, shipped with Spark), emoji and other
                     pictographs removed, whitespace trimmed and collapsed, cut to
                     var('max_text_length') characters; empty -> null.
  text_key(expr)     dedupe/join key: clean_text, then lower-case, accents stripped
                     (commons-lang3 StringUtils.stripAccents), punctuation dropped.
#}
{% macro clean_text(expr) -%}
    nullif(
        left(
            trim(regexp_replace(
                regexp_replace(
                    case when {{ expr }} is not null
                        then reflect('com.ibm.icu.text.Normalizer', 'compose', {{ expr }}, false)
                    end,
                    '[\\p{So}\\p{Sk}\\p{Cs}\\p{Co}\\x{200D}\\x{FE0F}]', ''
                ),
                '\\s+', ' '
            )),
            {{ var('max_text_length') }}
        ),
        ''
    )
{%- endmacro %}

{% macro text_key(expr) -%}
    {%- set cleaned = clean_text(expr) -%}
    case when {{ cleaned }} is not null then
        nullif(trim(regexp_replace(
            lower(reflect('org.apache.commons.lang3.StringUtils', 'stripAccents', {{ cleaned }})),
            '[^a-z0-9]+', ' '
        )), '')
    end
{%- endmacro %}
