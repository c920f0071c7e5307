{#
  is_valid_coordinate(lat, lon): true for a usable WGS84 point, false for a present but
  impossible one (out of range, or the (0, 0) "null island" of a failed GPS fix), null when
  either part is missing. Staging nulls invalid points and keeps this flag.
#}
{% macro is_valid_coordinate(lat, lon) -%}
    case
        when {{ lat }} is null or {{ lon }} is null then null
        when isnan({{ lat }}) or isnan({{ lon }}) then false
        when {{ lat }} not between -90 and 90 or {{ lon }} not between -180 and 180 then false
        when {{ lat }} = 0 and {{ lon }} = 0 then false
        else true
    end
{%- endmacro %}
