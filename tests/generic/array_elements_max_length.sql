{#
    array_elements_max_length: every element of the text array `column_name` is at most
    `max_length` characters (an array of arrays, such as the SKU keys per delivery, is
    flattened first: nested=true). Null arrays and null elements pass.
    Returns the failing rows with the longest element's length as `max_element_length`.
#}
{% test array_elements_max_length(model, column_name, max_length, nested=false) %}
    {%- set elements = "flatten(" ~ column_name ~ ")" if nested else column_name %}
with measured as (
    select
        *,
        array_max(transform({{ elements }}, element -> length(element))) as max_element_length
    from {{ model }}
)
select *
from measured
where max_element_length > {{ max_length }}
{% endtest %}
