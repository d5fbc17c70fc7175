package org.diskplan.app.fx.model;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The view models use JavaFX properties and collections only: no scene graph, no toolkit. */
class ViewModelArchitectureTest {
    private static final JavaClasses CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("org.diskplan.app.fx");

    @Test
    void viewModelsImportNoSceneGraph() {
        noClasses().that().resideInAPackage("org.diskplan.app.fx.model..")
                .should().dependOnClassesThat(resideInAPackage("javafx..")
                        .and(DescribedPredicate.not(resideInAnyPackage("javafx.beans..", "javafx.collections.."))))
                .orShould().dependOnClassesThat().resideInAnyPackage("org.controlsfx..", "org.diskplan.app.fx")
                .because("view models are tested on plain JUnit; the views bind to them (ui.md)")
                .allowEmptyShould(false)
                .check(CLASSES);
    }
}
