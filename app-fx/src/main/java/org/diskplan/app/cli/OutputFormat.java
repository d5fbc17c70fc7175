package org.diskplan.app.cli;

/** --output values. */
enum OutputFormat { human, json }
