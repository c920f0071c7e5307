{# days_between(later, earlier): fractional days between two timestamps, as a double. #}
{% macro days_between(later, earlier) -%}
    (unix_micros({{ later }}) - unix_micros({{ earlier }})) / 86400e6
{%- endmacro %}
