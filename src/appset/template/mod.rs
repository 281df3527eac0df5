//! fasttemplate (`{{name}}`) and Go text/template (`goTemplate: true`) rendering.
