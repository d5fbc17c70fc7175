package org.diskplan.e2e;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The module boundaries of architecture.md, checked on the production classes (this
 * module depends on app-fx, which depends on all the others, so they are all on the
 * test classpath). Every rule fails if the packages it constrains are empty, so a
 * rule can never pass by checking nothing.
 */
class ArchitectureTest {

    private static JavaClasses classes;

    @BeforeAll
    static void importProductionClasses() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("org.diskplan");
    }

    @ParameterizedTest(name = "{0} has classes on the classpath")
    @ValueSource(strings = {"org.diskplan.abi", "org.diskplan.probe", "org.diskplan.planner", "org.diskplan.app",
            "org.diskplan.app.cli"})
    void packagesAreImported(String pkg) {
        assertThat(classes.stream().filter(c -> c.getPackageName().equals(pkg)
                || c.getPackageName().startsWith(pkg + ".")).count())
                .as("classes imported from %s (is the module on the test classpath?)", pkg)
                .isPositive();
    }

    @Test
    void coreModulesDoNotDependOnUiOrCli() {
        check(noClasses().that().resideInAnyPackage("org.diskplan.abi..", "org.diskplan.probe..", "org.diskplan.planner..")
                .should().dependOnClassesThat().resideInAnyPackage("javafx..", "org.controlsfx..", "picocli..",
                        "org.diskplan.app..")
                .because("abi, format-probe and planner are headless libraries; the UI and CLI build on them"));
    }

    @Test
    void abiDependsOnNothingElseOfDiskplan() {
        check(noClasses().that().resideInAPackage("org.diskplan.abi..")
                .should().dependOnClassesThat(resideInAPackage("org.diskplan..")
                        .and(not(resideInAPackage("org.diskplan.abi.."))))
                .because("diskplan-abi depends on nothing"));
    }

    @Test
    void probeDoesNotDependOnPlanner() {
        check(noClasses().that().resideInAPackage("org.diskplan.probe..")
                .should().dependOnClassesThat().resideInAPackage("org.diskplan.planner..")
                .because("format-probe is read-only and sits below the planner"));
    }

    /** Every format package name; a format's probe and planner packages are org.diskplan.{probe,planner}.FORMAT. */
    private static final List<String> FORMATS = List.of("qcow2", "qcow", "qed", "luks", "raw", "vhd", "vhdx", "vmdk",
            "vdi");

    @ParameterizedTest(name = "{0} does not depend on another format's packages")
    @ValueSource(strings = {"qcow2", "qcow", "qed", "luks", "raw", "vhd", "vhdx", "vmdk", "vdi"})
    void formatPackagesDoNotDependOnEachOther(String format) {
        String[] others = FORMATS.stream().filter(f -> !f.equals(format))
                .flatMap(f -> Stream.of("org.diskplan.probe." + f + "..", "org.diskplan.planner." + f + ".."))
                .toArray(String[]::new);
        check(noClasses().that().resideInAnyPackage("org.diskplan.probe." + format + "..",
                        "org.diskplan.planner." + format + "..")
                .should().dependOnClassesThat().resideInAnyPackage(others)
                .because("one package per format: what two formats share (a LUKS header, GUIDs) lives in a "
                        + "neutral package, and a planner format package uses only its own probe package"));
    }

    @Test
    void everyFormatHasAProbePackage() {
        for (String format : FORMATS) {
            assertThat(classes.stream().filter(c -> c.getPackageName().equals("org.diskplan.probe." + format)).count())
                    .as("classes in org.diskplan.probe.%s", format).isPositive();
        }
    }

    @Test
    void cliDoesNotDependOnJavaFx() {
        check(noClasses().that().resideInAPackage("org.diskplan.app.cli..")
                .should().dependOnClassesThat(resideInAnyPackage("javafx..", "org.controlsfx.."))
                .because("the command line must run on a machine with no display"));
    }

    private static void check(ArchRule rule) {
        rule.allowEmptyShould(false).check(classes);
    }
}
